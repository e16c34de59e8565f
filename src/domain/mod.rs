//! Validated value types shared by every module: ids, roles, emails, slugs.
//!
//! Values are parsed once at the edge (`parse`) and trusted afterwards, so plain
//! strings never travel side by side through signatures.

mod ids;
mod role;
mod text;

pub use ids::{ApiKeyId, TenantId, UserId};
pub use role::{ApiKeyRole, Role};
pub use text::{Email, Slug, ValidationError};
