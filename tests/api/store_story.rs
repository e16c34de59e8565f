//! A story that walks every store function on the configured backend, so both SQLite and
//! PostgreSQL are checked for each query (there is no compile-time SQL check).

use chrono::{Duration, Utc};
use switchboard::domain::{ApiKeyRole, Email, Role, Slug};
use switchboard::store::audit::{Actor, AuditRecord};
use switchboard::store::sessions::NewSession;
use switchboard::store::tenants::{TenantChanges, TenantFeatures, TenantLimits};
use switchboard::store::{Backend, StoreError, api_keys, audit, calls, sessions, tenants, users};

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

    // Routing: queues, members, agent profiles, routed contacts
    use switchboard::store::{agents, events, queues, routed_contacts};
    users::insert_membership(s, t.id, u.id, Role::Agent)
        .await
        .unwrap_err();
    let q = queues::insert_queue(
        s,
        t.id,
        "Support",
        &serde_json::json!({"strategy": "linear"}),
    )
    .await
    .unwrap();
    assert!(matches!(
        queues::insert_queue(s, t.id, "Support", &serde_json::json!({})).await,
        Err(StoreError::Conflict(_))
    ));
    let member = queues::QueueMemberRecord {
        user_id: u.id.get(),
        penalty: 2,
        wrapup_secs: Some(30),
    };
    queues::replace_members(s, t.id, q.id, std::slice::from_ref(&member))
        .await
        .unwrap();
    let stranger = queues::QueueMemberRecord {
        user_id: 999_999,
        penalty: 0,
        wrapup_secs: None,
    };
    assert!(matches!(
        queues::replace_members(s, t.id, q.id, &[stranger]).await,
        Err(StoreError::NotFound)
    ));
    let got = queues::get_queue(s, t.id, q.id).await.unwrap();
    assert_eq!(
        (got.members, got.settings["strategy"].as_str()),
        (vec![member], Some("linear"))
    );
    queues::update_queue(
        s,
        t.id,
        q.id,
        "Support EU",
        &serde_json::json!({"strategy": "random"}),
    )
    .await
    .unwrap();
    assert_eq!(
        queues::list_queues(s, t.id).await.unwrap()[0].name,
        "Support EU"
    );
    assert_eq!(
        queues::queues_of_member(s, t.id, u.id).await.unwrap(),
        vec![q.id]
    );

    let settings = agents::RoutingSettings {
        voice_capacity: 1,
        chat_capacity: 4,
        block_chats_during_call: true,
        skills: [("billing".to_owned(), 7)].into(),
    };
    agents::save_routing_settings(s, t.id, u.id, &settings)
        .await
        .unwrap();
    agents::set_presence(s, t.id, u.id, "away", Some("lunch"))
        .await
        .unwrap();
    let a = agents::find_agent(s, t.id, u.id).await.unwrap().unwrap();
    assert_eq!(
        (
            a.chat_capacity,
            a.presence.as_str(),
            a.away_reason.as_deref(),
            a.skills["billing"]
        ),
        (4, "away", Some("lunch"), 7)
    );
    assert_eq!(agents::list_agents(s, t.id).await.unwrap().len(), 1);
    assert!(matches!(
        agents::set_presence(
            s,
            t.id,
            switchboard::domain::UserId(999_999),
            "available",
            None
        )
        .await,
        Err(StoreError::NotFound)
    ));

    let enqueued_at = Utc::now() - Duration::minutes(5);
    let c = routed_contacts::insert_routed_contact(
        s,
        t.id,
        routed_contacts::NewRoutedContact {
            queue_id: q.id,
            medium: "chat",
            channel: "widget",
            priority: 4,
            required_skills: "{\"billing\":3}",
            enqueued_at,
            callback: false,
        },
    )
    .await
    .unwrap();
    assert_eq!((c.status.as_str(), c.priority), ("waiting", 4));
    assert_eq!(
        c.enqueued_at.timestamp_millis(),
        enqueued_at.timestamp_millis(),
        "the original time is kept to the millisecond"
    );
    routed_contacts::mark_moved(s, t.id, c.id, q.id)
        .await
        .unwrap();
    // A contact's status changes with the event that tells it, alone or in a batch.
    let assigned = events::append_event(
        s,
        t.id,
        "assigned",
        None,
        &serde_json::json!({"contact_id": c.id}),
        Some(&events::ContactChange::Connected {
            id: c.id,
            agent: u.id.get(),
        }),
    )
    .await
    .unwrap();
    let live = routed_contacts::list_live_contacts(s, t.id).await.unwrap();
    assert_eq!(
        (live[0].status.as_str(), live[0].agent_id),
        ("connected", Some(u.id.get()))
    );
    let told = events::append_events(
        s,
        t.id,
        &[
            events::NewEvent {
                kind: "note".into(),
                user_id: None,
                payload: "{}".into(),
                contact: None,
            },
            events::NewEvent {
                kind: "contact_ended".into(),
                user_id: None,
                payload: "{}".into(),
                contact: Some(events::ContactChange::Ended {
                    id: c.id,
                    outcome: "ended".into(),
                }),
            },
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        told.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [assigned.seq + 1, assigned.seq + 2]
    );
    let ended = routed_contacts::find_routed_contact(s, t.id, c.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (ended.status.as_str(), ended.outcome.as_deref()),
        ("ended", Some("answered"))
    );
    assert!(
        routed_contacts::list_live_contacts(s, t.id)
            .await
            .unwrap()
            .is_empty()
    );

    // A call queues: its routing contact and its row change in one round trip.
    let call = calls::insert_call(
        s,
        t.id,
        calls::NewCall {
            server: "pbx",
            channel_id: "story-1",
            direction: "inbound",
            did: "+15550001",
            caller: "+15550002",
            flow: Some("main"),
        },
        Utc::now(),
    )
    .await
    .unwrap();
    let voice = routed_contacts::insert_for_call(
        s,
        t.id,
        call.id,
        routed_contacts::NewRoutedContact {
            queue_id: q.id,
            medium: "voice",
            channel: "voice",
            priority: 5,
            required_skills: "{}",
            enqueued_at,
            callback: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (voice.status.as_str(), voice.medium.as_str()),
        ("waiting", "voice")
    );
    assert_ne!(voice.id, c.id);
    let queued = calls::find_call(s, t.id, call.id).await.unwrap().unwrap();
    assert_eq!(
        (
            queued.state.as_str(),
            queued.routed_contact_id,
            queued.queue_id
        ),
        ("queued", Some(voice.id), Some(q.id))
    );
    assert_eq!(
        routed_contacts::find_routed_contact(s, t.id, voice.id)
            .await
            .unwrap()
            .map(|r| r.status),
        Some("waiting".to_owned())
    );
    routed_contacts::mark_ended(s, t.id, voice.id, "ended")
        .await
        .unwrap();

    // Timeline entries and the row's changes in one round trip: connected, then ended (the
    // first end recorded wins).
    let entry = |kind: &str| calls::NewCallEvent {
        call: call.id,
        kind: kind.into(),
        detail: "{}".into(),
        at: Utc::now(),
    };
    let answered_at = Utc::now();
    calls::add_events(
        s,
        t.id,
        &[entry("answered")],
        &[calls::CallChange::Connected {
            call: call.id,
            agent: u.id.get(),
            at: answered_at,
        }],
    )
    .await
    .unwrap();
    let connected = calls::find_call(s, t.id, call.id).await.unwrap().unwrap();
    assert_eq!(
        (connected.state.as_str(), connected.agent_id),
        ("connected", Some(u.id.get()))
    );
    assert_eq!(
        connected.answered_at.map(|a| a.timestamp_millis()),
        Some(answered_at.timestamp_millis())
    );
    let ends = |reason: &str| calls::CallChange::Ended {
        call: call.id,
        reason: reason.into(),
        at: Utc::now(),
    };
    calls::add_events(s, t.id, &[entry("ended")], &[ends("agent_hangup")])
        .await
        .unwrap();
    calls::add_events(s, t.id, &[], &[ends("late")])
        .await
        .unwrap();
    let ended = calls::find_call(s, t.id, call.id).await.unwrap().unwrap();
    assert_eq!(
        (ended.state.as_str(), ended.end_reason.as_deref()),
        ("ended", Some("agent_hangup"))
    );
    let kinds: Vec<String> = calls::list_events(s, t.id, call.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["answered", "ended"]);

    queues::delete_queue(s, t.id, q.id).await.unwrap();
    assert!(queues::find_queue(s, t.id, q.id).await.unwrap().is_none());

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
