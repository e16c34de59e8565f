//! Who is calling and what they may do: password hashing, sessions, API keys, login throttling,
//! and the extractors that enforce authorization in one place.
//!
//! Handlers never check roles themselves: they ask for `TenantScope<Admin>` (or another
//! minimum role), `Operator`, or `SignedIn`, and the extractor refuses everything else.

mod extract;
mod handlers;
mod password;
mod throttle;
mod tokens;

pub use extract::{
    Admin, AnyMember, Authenticated, MinRole, Operator, Owner, Principal, SignedIn, Supervisor,
    TenantScope, enter_tenant,
};
pub use handlers::router;
pub use password::{
    MIN_PASSWORD_LEN, check_password_policy, generate_password, hash_password, verify_password,
};
pub use throttle::LoginThrottle;
pub use tokens::{API_KEY_PREFIX, hash_token, new_api_key, new_token};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "sb_session";
/// Header carrying the CSRF token on unsafe requests from cookie sessions.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Why a credential operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The password hash could not be computed.
    #[error("password hashing failed: {0}")]
    Hash(String),
}
