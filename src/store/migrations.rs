//! The two migration trees, embedded in the binary, and the test that keeps them in step.

use sqlx::migrate::Migrator;

/// `migrations/sqlite`.
pub static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
/// `migrations/postgres`.
pub static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(m: &Migrator) -> Vec<(i64, String)> {
        m.iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect()
    }

    #[test]
    fn sqlite_and_postgres_migrations_have_the_same_versions_and_names() {
        assert!(SQLITE.iter().next().is_some(), "no migrations embedded");
        assert_eq!(versions(&SQLITE), versions(&POSTGRES));
    }
}
