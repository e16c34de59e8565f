//! Tests of the ARI client against the spec, captured traffic and a loopback server.
