//! Extensions (agents' phones) into Asterisk: the PJSIP `auth`, `aor` and `endpoint` objects of
//! one extension, pushed over ARI dynamic configuration (`res_pjsip`, astdb sorcery wizard,
//! ARI.md §5) or rendered as a `pjsip.conf` include for operators who manage files.
//!
//! Templates are a `pjsip.conf` feature that ARI does not have, so every push carries the full
//! field list, the same one the include writes; `asterisk/pjsip.conf`'s agent templates and
//! this file change together.

use std::fmt::Write as _;

use chrono::Utc;

use crate::config::VoiceConfig;
use crate::secrets::MasterKey;
use crate::store::extensions::{self, ExtensionRecord};
use crate::store::{Store, StoreError};
use crate::voice::ari::models::ConfigTuple;
use crate::voice::ari::{AriClient, AriError};

/// The codecs an extension may list, by their Asterisk names. Others would be stored by
/// Asterisk as unknown and leave the endpoint with fewer codecs than the admin saw.
pub const KNOWN_CODECS: [&str; 7] = ["opus", "g722", "ulaw", "alaw", "gsm", "g729", "ilbc"];

/// What a new extension offers: wideband first, G.711 as the universal fallback.
pub const DEFAULT_CODECS: [&str; 3] = ["g722", "ulaw", "alaw"];

/// The dialplan context of agents' phones (`extensions.conf` `[from-agents]`).
pub const AGENT_CONTEXT: &str = "from-agents";

/// The sorcery configuration class of every PJSIP object.
const CLASS: &str = "res_pjsip";

/// What Switchboard shows when there is nowhere to push to.
pub const NOT_CONFIGURED: &str = "not provisioned: no Asterisk configured";

/// The PJSIP object id of an extension. One Asterisk serves every tenant and PJSIP ids form
/// one flat namespace: endpoints are identified by the SIP username (`From` user), and the
/// service originates to `PJSIP/<id>`. Two tenants both having extension `1001` must not
/// collide, and a call from a phone must name its tenant, so the tenant's slug (unique,
/// immutable, `[a-z0-9-]`) prefixes the number.
pub fn object_id(tenant_slug: &str, number: &str) -> String {
    format!("{tenant_slug}-{number}")
}

/// One extension as Asterisk needs it, password in clear.
#[derive(Clone)]
pub struct PjsipExtension {
    /// `{tenant_slug}-{number}`: id of all three objects and the SIP username.
    pub id: String,
    /// The extension number (caller id number).
    pub number: String,
    /// Caller id name.
    pub display_name: String,
    /// Digest password.
    pub password: String,
    /// Codec names in preference order.
    pub codecs: Vec<String>,
    /// NAT traversal on.
    pub nat: bool,
    /// Channels before the device reads busy.
    pub call_limit: i64,
    /// `box@context` for message-waiting, when the extension has a voicemail box.
    pub mailbox: Option<String>,
}

impl std::fmt::Debug for PjsipExtension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PjsipExtension")
            .field("id", &self.id)
            .field("password", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl PjsipExtension {
    /// A stored extension of the tenant `tenant_slug`, with its opened password.
    pub fn from_record(tenant_slug: &str, r: &ExtensionRecord, password: String) -> Self {
        PjsipExtension {
            id: object_id(tenant_slug, &r.number),
            number: r.number.clone(),
            display_name: r.display_name.clone(),
            password,
            codecs: r.codecs.clone(),
            nat: r.nat,
            call_limit: r.call_limit,
            // Boxes are per tenant: the slug is their voicemail context.
            mailbox: r
                .voicemail_box
                .as_ref()
                .map(|b| format!("{b}@{tenant_slug}")),
        }
    }
}

fn yes(on: bool) -> &'static str {
    if on { "yes" } else { "no" }
}

/// `auth/<id>`: digest credentials. The username is the object id, since the endpoint is
/// found by that name.
pub fn auth_fields(x: &PjsipExtension) -> Vec<ConfigTuple> {
    vec![
        ConfigTuple::new("auth_type", "userpass"),
        ConfigTuple::new("username", &x.id),
        ConfigTuple::new("password", &x.password),
    ]
}

/// `aor/<id>`: one phone per extension, a new registration replacing the old (phone moved,
/// NAT binding changed); qualify makes "online" mean reachable and keeps NAT bindings open.
pub fn aor_fields(_x: &PjsipExtension) -> Vec<ConfigTuple> {
    vec![
        ConfigTuple::new("max_contacts", "1"),
        ConfigTuple::new("remove_existing", "yes"),
        ConfigTuple::new("qualify_frequency", "30"),
    ]
}

/// `endpoint/<id>`: how Asterisk calls the phone and what its calls may do.
pub fn endpoint_fields(x: &PjsipExtension) -> Vec<ConfigTuple> {
    let mut f = vec![
        ConfigTuple::new("transport", "transport-udp"),
        ConfigTuple::new("context", AGENT_CONTEXT),
        // Both, always: an endpoint pushed without `allow` is stored as `allow=(nothing)`,
        // which Asterisk cannot read back (asterisk/README.md).
        ConfigTuple::new("disallow", "all"),
        ConfigTuple::new("allow", x.codecs.join(",")),
        ConfigTuple::new("auth", &x.id),
        ConfigTuple::new("aors", &x.id),
        ConfigTuple::new("callerid", format!("\"{}\" <{}>", x.display_name, x.number)),
        ConfigTuple::new("dtmf_mode", "rfc4733"),
        // Media stays in Asterisk whatever the NAT setting: bridges, recording, snooping, MOH.
        ConfigTuple::new("direct_media", "no"),
        ConfigTuple::new("rtp_symmetric", yes(x.nat)),
        ConfigTuple::new("force_rport", yes(x.nat)),
        ConfigTuple::new("rewrite_contact", yes(x.nat)),
        // PJSIP has no per-endpoint call cap; the busy device state is what routing and
        // app-level checks read, so the limit is expressed there.
        ConfigTuple::new("device_state_busy_at", x.call_limit.to_string()),
    ];
    if let Some(mailbox) = &x.mailbox {
        f.push(ConfigTuple::new("mailboxes", mailbox));
    }
    f
}

/// Why a push or removal failed: which server, which object, what Asterisk said.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// A server's ARI client could not be built from the configuration.
    #[error("Asterisk `{server}`: {source}")]
    Client {
        /// The server's name.
        server: String,
        /// Why.
        source: AriError,
    },
    /// A request about one object failed.
    #[error("Asterisk `{server}`: {action} {kind}/{id}: {source}")]
    Request {
        /// The server's name.
        server: String,
        /// `push` or `remove`.
        action: &'static str,
        /// `auth`, `aor` or `endpoint`.
        kind: &'static str,
        /// The object id.
        id: String,
        /// What Asterisk answered.
        source: AriError,
    },
}

/// Pushes extensions to every configured Asterisk (each serves every tenant's phones).
#[derive(Debug, Clone, Default)]
pub struct Provisioner {
    servers: Vec<AriClient>,
}

impl Provisioner {
    /// A provisioner for `[voice]`; no servers means provisioning is skipped.
    pub fn from_config(voice: &VoiceConfig) -> Result<Self, ProvisionError> {
        let servers = voice
            .asterisk
            .iter()
            .map(|s| {
                AriClient::new(s).map_err(|source| ProvisionError::Client {
                    server: s.name.clone(),
                    source,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Provisioner { servers })
    }

    /// Whether there is any Asterisk to push to.
    pub fn is_configured(&self) -> bool {
        !self.servers.is_empty()
    }

    /// Creates or updates the three objects on every server, `auth` then `aor` then
    /// `endpoint` (the endpoint names the other two). PUT merges into an existing object, so
    /// this is also the update and the idempotent re-push. Stops at the first failure: an
    /// endpoint without its auth would be worse than none.
    pub async fn push(&self, x: &PjsipExtension) -> Result<(), ProvisionError> {
        for server in &self.servers {
            for (kind, fields) in [
                ("auth", auth_fields(x)),
                ("aor", aor_fields(x)),
                ("endpoint", endpoint_fields(x)),
            ] {
                server
                    .put_config(CLASS, kind, &x.id, &fields)
                    .await
                    .map_err(|source| ProvisionError::Request {
                        server: server.name().to_owned(),
                        action: "push",
                        kind,
                        id: x.id.clone(),
                        source,
                    })?;
            }
        }
        Ok(())
    }

    /// Deletes the three objects on every server in reverse order. An object already gone
    /// (404) counts as removed.
    pub async fn remove(&self, id: &str) -> Result<(), ProvisionError> {
        for server in &self.servers {
            for kind in ["endpoint", "aor", "auth"] {
                match server.delete_config(CLASS, kind, id).await {
                    Ok(()) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(source) => {
                        return Err(ProvisionError::Request {
                            server: server.name().to_owned(),
                            action: "remove",
                            kind,
                            id: id.to_owned(),
                            source,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// Pushes every enabled extension of every tenant again and records each outcome. Run at
/// start: Switchboard's database is the source of truth, and Asterisk may have lost objects
/// (a `memory` wizard, a wiped astdb) or missed changes made while it was down. PUT merges, so
/// this is harmless when nothing changed. Returns how many were pushed successfully.
pub async fn push_all(
    store: &Store,
    key: &MasterKey,
    provisioner: &Provisioner,
) -> Result<usize, StoreError> {
    if !provisioner.is_configured() {
        return Ok(0);
    }
    let mut pushed = 0;
    for (slug, r) in extensions::list_enabled_for_provisioning(store).await? {
        let outcome = match key.open(&r.sealed_password) {
            Ok(password) => provisioner
                .push(&PjsipExtension::from_record(&slug, &r, password))
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(format!("the SIP password cannot be opened: {e}")),
        };
        match outcome {
            Ok(()) => {
                pushed += 1;
                extensions::record_provisioning(store, r.tenant_id, r.id, Ok(Some(Utc::now())))
                    .await?;
            }
            Err(why) => {
                tracing::warn!(tenant.id = %r.tenant_id, extension.id = r.id, error = %why, "extension not re-pushed at start");
                extensions::record_provisioning(store, r.tenant_id, r.id, Err(&why)).await?;
            }
        }
    }
    Ok(pushed)
}

/// The `pjsip.conf` include holding a tenant's extensions, the file alternative to pushing.
/// With `templates`, sections inherit Switchboard's `agent-auth`/`agent-aor`/`agent-ep`
/// templates (in `asterisk/pjsip.conf`), which add their hardening; the fields are written
/// in full either way, so the file says exactly what a push would.
pub fn render_pjsip_include(
    tenant_slug: &str,
    extensions: &[PjsipExtension],
    templates: bool,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "; Switchboard extensions of tenant `{tenant_slug}`: #include this file from pjsip.conf."
    );
    if templates {
        out.push_str(
            "; Needs the agent-auth, agent-aor and agent-ep templates of Switchboard's asterisk/pjsip.conf.\n",
        );
    }
    out.push_str(
        "; It holds SIP passwords: make it readable by Asterisk only. Ids must not also be pushed over ARI.\n",
    );
    for x in extensions {
        for (kind, template, fields) in [
            ("auth", "agent-auth", auth_fields(x)),
            ("aor", "agent-aor", aor_fields(x)),
            ("endpoint", "agent-ep", endpoint_fields(x)),
        ] {
            out.push('\n');
            if templates {
                let _ = writeln!(out, "[{}]({template})", x.id);
                // `type` comes from the template. `allow` adds to the template's list, which
                // is why the fields start again from `disallow=all`.
            } else {
                let _ = writeln!(out, "[{}]", x.id);
                let _ = writeln!(out, "type={kind}");
            }
            for f in fields {
                let _ = writeln!(out, "{}={}", f.attribute, f.value);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
