//! Roles within a tenant, ordered by what they may do.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ValidationError;

/// A user's role in one tenant. Ordering follows privilege: `Agent < Supervisor < Admin < Owner`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Handles calls and chats.
    Agent,
    /// Watches queues and reads reports.
    Supervisor,
    /// Configures the tenant.
    Admin,
    /// Admin who may also grant the owner role.
    Owner,
}

impl Role {
    /// Every role, lowest privilege first.
    pub const ALL: [Role; 4] = [Role::Agent, Role::Supervisor, Role::Admin, Role::Owner];

    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    /// Parses a stored or user-supplied role name.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "role",
                    format!("unknown role `{s}` (expected owner, admin, supervisor or agent)"),
                )
            })
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The role an API key acts with. Keys can never be owners: ownership is a person's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyRole {
    /// Full tenant configuration.
    Admin,
    /// Read queues and reports.
    Supervisor,
    /// Act as an agent.
    Agent,
}

impl From<ApiKeyRole> for Role {
    fn from(r: ApiKeyRole) -> Self {
        match r {
            ApiKeyRole::Admin => Role::Admin,
            ApiKeyRole::Supervisor => Role::Supervisor,
            ApiKeyRole::Agent => Role::Agent,
        }
    }
}

impl ApiKeyRole {
    /// Parses a stored key role.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match Role::parse(s)? {
            Role::Admin => Ok(ApiKeyRole::Admin),
            Role::Supervisor => Ok(ApiKeyRole::Supervisor),
            Role::Agent => Ok(ApiKeyRole::Agent),
            Role::Owner => Err(ValidationError::new(
                "role",
                "API keys cannot have the owner role",
            )),
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        Role::from(self).as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_privilege() {
        assert!(Role::Agent < Role::Supervisor);
        assert!(Role::Supervisor < Role::Admin);
        assert!(Role::Admin < Role::Owner);
    }

    #[test]
    fn every_role_round_trips_through_its_name() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert!(Role::parse("root").is_err());
    }

    #[test]
    fn api_keys_cannot_be_owners() {
        assert!(ApiKeyRole::parse("owner").is_err());
        assert_eq!(ApiKeyRole::parse("admin").unwrap(), ApiKeyRole::Admin);
    }
}
