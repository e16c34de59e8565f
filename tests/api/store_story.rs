//! A story that walks every store function on the configured backend, so both SQLite and
//! PostgreSQL are checked for each query (there is no compile-time SQL check).

use chrono::{Duration, Utc};
use switchboard::domain::{ApiKeyRole, Email, Role, Slug};
use switchboard::store::audit::{Actor, AuditRecord};
use switchboard::store::sessions::NewSession;
use switchboard::store::tenants::{TenantChanges, TenantFeatures, TenantLimits};
use switchboard::store::{Backend, StoreError, api_keys, audit, sessions, tenants, users};

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_store_story_runs_end_to_end() {
    let app = spawn_app().await;
    let s = &app.store;
    let expected = if std::env::var("SWITCHBOARD_TEST_BACKEND").as_deref() == Ok("postgres") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    assert_eq!(s.backend(), expected);
    s.ping().await.unwrap();

    // Tenants
    let slug = Slug::parse("story").unwrap();
    let t = tenants::insert_tenant(
        s,
        "Story",
        &slug,
        TenantLimits {
            max_agents: 3,
            ..Default::default()
        },
        TenantFeatures::default(),
    )
    .await
    .unwrap();
    assert!(matches!(
        tenants::insert_tenant(
            s,
            "Again",
            &slug,
            TenantLimits::default(),
            TenantFeatures::default()
        )
        .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        tenants::get_tenant(s, t.id)
            .await
            .unwrap()
            .limits
            .max_agents,
        3
    );
    assert_eq!(
        tenants::find_tenant_by_slug(s, "story")
            .await
            .unwrap()
            .unwrap()
            .id,
        t.id
    );
    assert_eq!(tenants::list_tenants(s, None, 10).await.unwrap().len(), 1);
    let renamed = tenants::update_tenant(
        s,
        t.id,
        TenantChanges {
            name: Some("Story Co".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(renamed.name, "Story Co");
    assert!(renamed.updated_at >= t.updated_at);
    assert!(!tenants::tenant_has_data(s, t.id).await.unwrap());

    // Users and memberships
    let email = Email::parse("Story@Example.com").unwrap();
    let u = users::insert_user(s, &email, "Story Teller", "hash", false)
        .await
        .unwrap();
    assert!(matches!(
        users::insert_user(s, &email, "Dup", "hash", false).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        users::find_user(s, u.id).await.unwrap().unwrap().email,
        "story@example.com"
    );
    assert_eq!(
        users::find_credentials(s, &email)
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "hash"
    );
    assert_eq!(users::get_password_hash(s, u.id).await.unwrap(), "hash");
    users::set_password_hash(s, u.id, "hash2").await.unwrap();
    assert_eq!(users::get_password_hash(s, u.id).await.unwrap(), "hash2");
    users::update_user_name(s, u.id, "Renamed").await.unwrap();
    users::touch_last_login(s, u.id).await.unwrap();
    assert!(
        users::find_user_by_email(s, &email)
            .await
            .unwrap()
            .unwrap()
            .last_login_at
            .is_some()
    );
    assert_eq!(
        users::count_operators(s).await.unwrap(),
        1,
        "the bootstrap operator"
    );
    assert!(users::list_users(s).await.unwrap().len() >= 2);

    users::insert_membership(s, t.id, u.id, Role::Owner)
        .await
        .unwrap();
    assert!(matches!(
        users::insert_membership(s, t.id, u.id, Role::Agent).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(tenants::tenant_has_data(s, t.id).await.unwrap());
    assert_eq!(users::count_active_members(s, t.id).await.unwrap(), 1);
    assert_eq!(users::count_active_owners(s, t.id).await.unwrap(), 1);
    let m = users::get_member(s, t.id, u.id).await.unwrap();
    assert_eq!(
        (m.role, m.active, m.name.as_str()),
        (Role::Owner, true, "Renamed")
    );
    assert_eq!(
        users::list_memberships(s, u.id).await.unwrap()[0].tenant_slug,
        "story"
    );
    users::update_membership(s, t.id, u.id, Some(Role::Admin), Some(false))
        .await
        .unwrap();
    let m = users::get_member(s, t.id, u.id).await.unwrap();
    assert_eq!((m.role, m.active), (Role::Admin, false));
    assert!(
        users::list_memberships(s, u.id).await.unwrap().is_empty(),
        "inactive memberships are not listed"
    );
    assert_eq!(
        users::list_members(s, t.id, None, 10).await.unwrap().len(),
        1
    );
    users::set_user_active(s, u.id, false).await.unwrap();
    assert!(!users::find_user(s, u.id).await.unwrap().unwrap().active);
    users::set_user_active(s, u.id, true).await.unwrap();

    // Sessions
    let sid = sessions::insert_session(
        s,
        NewSession {
            user: u.id,
            token_hash: "th",
            csrf_token: "csrf",
            expires_at: Utc::now() + Duration::hours(1),
            ip: Some("127.0.0.1"),
            user_agent: Some("test"),
        },
    )
    .await
    .unwrap();
    let rec = sessions::find_session(s, "th").await.unwrap().unwrap();
    assert_eq!(
        (rec.id, rec.csrf_token.as_str(), rec.email.as_str()),
        (sid, "csrf", "story@example.com")
    );
    sessions::touch_session(s, sid).await.unwrap();
    assert_eq!(sessions::list_sessions(s, u.id).await.unwrap().len(), 1);
    sessions::revoke_session(s, u.id, sid).await.unwrap();
    assert!(
        sessions::find_session(s, "th")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert!(matches!(
        sessions::revoke_session(s, u.id, sid).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        sessions::revoke_user_sessions(s, u.id, None).await.unwrap(),
        0
    );

    // API keys
    let k = api_keys::insert_api_key(
        s,
        t.id,
        "ci",
        ApiKeyRole::Supervisor,
        "sbk_abc",
        "kh",
        Some(u.id),
    )
    .await
    .unwrap();
    assert_eq!(
        api_keys::find_live_api_key(s, "kh")
            .await
            .unwrap()
            .unwrap()
            .role,
        ApiKeyRole::Supervisor
    );
    api_keys::touch_api_key(s, k.id).await.unwrap();
    assert!(
        api_keys::list_api_keys(s, t.id).await.unwrap()[0]
            .last_used_at
            .is_some()
    );
    api_keys::revoke_api_key(s, t.id, k.id).await.unwrap();
    assert!(
        api_keys::find_live_api_key(s, "kh")
            .await
            .unwrap()
            .is_none()
    );

    // Audit
    let actor = Actor {
        user: Some(u.id),
        label: "story@example.com".into(),
    };
    audit::insert_audit(
        s,
        AuditRecord {
            tenant: t.id,
            actor: &actor,
            action: "story.tell",
            target_type: "story",
            target_id: "1".into(),
            details: serde_json::json!({"k": "v"}),
        },
    )
    .await
    .unwrap();
    let log = audit::list_audit(s, t.id, None, 10).await.unwrap();
    assert_eq!(
        (log[0].action.as_str(), log[0].details["k"].as_str()),
        ("story.tell", Some("v"))
    );

    // Removal and soft delete
    users::delete_membership(s, t.id, u.id).await.unwrap();
    assert!(users::find_member(s, t.id, u.id).await.unwrap().is_none());
    tenants::soft_delete_tenant(s, t.id).await.unwrap();
    assert!(tenants::find_tenant(s, t.id).await.unwrap().is_none());
    assert!(matches!(
        tenants::soft_delete_tenant(s, t.id).await,
        Err(StoreError::NotFound)
    ));
}
