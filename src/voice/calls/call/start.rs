//! How a call begins: a trunk call (`inbound`), one dialled from an agent's phone
//! (`internal`), one placed from the inbox (click-to-call), or one taken up after a restart.

use super::*;

/// Runs an inbound call from its `StasisStart` to its end.
pub(crate) async fn run_inbound(
    shared: Arc<Shared>,
    wiring: Wiring,
    channel: Channel,
    did: String,
    rx: mpsc::UnboundedReceiver<Input>,
) {
    let chan = channel.id.clone();
    let Some((tenant, published, route)) = shared.deps.flows.route_did(&did) else {
        tracing::warn!(%did, channel = %chan, "call to a number no tenant routes");
        refuse(
            &wiring.client,
            &chan,
            "sound:ss-noservice",
            Cause::Unallocated,
        )
        .await;
        return;
    };
    shared.set_tenant(&wiring.key, tenant);
    let store = &shared.deps.store;
    let tenant_row = match store::tenants::find_tenant_cached(store, tenant).await {
        Ok(Some(t)) => t,
        other => {
            tracing::error!(tenant.id = %tenant, result = ?other.map(|_| ()), "tenant of a routed DID unavailable");
            refuse(&wiring.client, &chan, "sound:ss-noservice", Cause::Failure).await;
            return;
        }
    };
    if !tenant_row.features.voice {
        tracing::warn!(tenant.id = %tenant, %did, "voice is off for the tenant; call refused");
        refuse(
            &wiring.client,
            &chan,
            "sound:ss-noservice",
            Cause::Unallocated,
        )
        .await;
        return;
    }
    // 0 means unlimited; this call is already counted.
    let limit = usize::try_from(tenant_row.limits.max_concurrent_calls.max(0)).unwrap_or(0);
    if limit > 0 && shared.tenant_calls(tenant) > limit {
        tracing::warn!(tenant.id = %tenant, limit, "concurrent call limit reached; call refused");
        refuse(
            &wiring.client,
            &chan,
            "sound:all-circuits-busy-now",
            Cause::Congestion,
        )
        .await;
        return;
    }
    let now = Utc::now();
    let row = match store::calls::insert_call(
        store,
        tenant,
        NewCall {
            server: &wiring.server_name,
            channel_id: &chan,
            direction: "inbound",
            did: &did,
            caller: &channel.caller.number,
            flow: Some(&route.flow),
        },
        now,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(tenant.id = %tenant, error = %e, "cannot record the call; refusing it");
            refuse(&wiring.client, &chan, "sound:ss-noservice", Cause::Failure).await;
            return;
        }
    };
    shared.set_call_id(&wiring.key, row.id);
    let mut call = Call::open(
        shared.clone(),
        wiring,
        tenant,
        tenant_row.slug.clone(),
        &row,
        published,
    )
    .await;
    call.caller_name = channel.caller.name.clone();
    call.event(
        "entered",
        json!({"did": did, "line": call.line_name, "caller": call.caller, "flow": route.flow, "asterisk": call.wiring.server_name}),
    )
    .await;
    if let Err(e) = call.wiring.client.answer(&chan).await {
        if e.is_not_found() {
            // The caller hung up before we answered.
            call.caller_left("caller_hangup").await;
        } else {
            // Asterisk refused (409, 5xx): the caller is still there and would ring on with
            // nobody behind it, so end the call for them; other calls go on.
            tracing::warn!(channel = %chan, error = %e, "answer failed");
            call.end_reason = Some("failed");
            call.hang_up_caller(Cause::Failure).await;
        }
        return;
    }
    call.start_flow().await;
    call.run(rx).await;
}

/// Takes up a call that was in progress when our service stopped. The caller hears an
/// apology (except when already talking to someone) and carries on where that is possible.
pub(crate) async fn run_adopted(
    shared: Arc<Shared>,
    wiring: Wiring,
    row: store::calls::CallRecord,
    adoption: Adoption,
    rx: mpsc::UnboundedReceiver<Input>,
) {
    let tenant = TenantId(row.tenant_id);
    shared.set_tenant(&wiring.key, tenant);
    let store = shared.deps.store.clone();
    let flows = shared.deps.flows.live(tenant).await;
    let (Ok(Some(tenant_row)), Ok(Some(published))) =
        (store::tenants::find_tenant(&store, tenant).await, flows)
    else {
        tracing::warn!(
            call.id = row.id,
            "call cannot be taken up: tenant or flows gone"
        );
        let _ = wiring
            .client
            .hangup(&row.channel_id, Some(Cause::Failure))
            .await;
        let _ =
            store::calls::set_ended(&store, tenant, row.id, "service_restart", Utc::now()).await;
        return;
    };
    let mut call = Call::open(
        shared.clone(),
        wiring,
        tenant,
        tenant_row.slug.clone(),
        &row,
        published,
    )
    .await;
    call.adopted = true;
    call.event("resumed", json!({"as": format!("{adoption:?}")}))
        .await;
    shared.claim(call.wiring.server, &call.wiring.key, &call.channel);
    let language = call
        .published
        .catalog
        .flow(row.flow.as_deref().unwrap_or_default())
        .and_then(|f| f.default_language().map(str::to_owned))
        .unwrap_or_else(|| "en-US".into());
    let apology = PlayItem::Tts {
        speech: interp::Speech::Text(
            "We are sorry, we had a problem on our side. Please stay on the line.".into(),
        ),
        voice: None,
        fallback_voice: None,
        language,
        cacheable: true,
    };
    match adoption {
        Adoption::Queued { contact, queue } => {
            let (media, _) = call.media(&[apology]).await;
            call.rejoin_queue(contact, &queue, media).await;
        }
        Adoption::Connected {
            contact,
            agent,
            peer,
            talk,
            held,
        } => {
            for id in [&peer, &talk] {
                shared.claim(call.wiring.server, &call.wiring.key, id);
            }
            // The agent may have been hearing a colleague ring (a consultation whose leg is
            // now hung up): a tone plays until stopped.
            call.stop_playback(&ringback_id(&peer)).await;
            call.legs.insert(
                peer.clone(),
                Leg {
                    kind: match agent {
                        Some(agent) => LegKind::Offer { agent },
                        None => LegKind::Transfer,
                    },
                    answered: true,
                    dropped: false,
                },
            );
            call.peer = Some(peer);
            call.talk_bridge = Some(talk);
            call.agent = agent;
            call.contact = contact;
            if let Some(c) = contact {
                shared.claim_contact(tenant, c, &call.wiring.key);
            }
            call.stage = Stage::Connected;
            if held {
                // Whatever the agent was doing with the held caller is lost with our state:
                // they talk again rather than the caller holding forever.
                call.held = true;
                call.resume_after_restart().await;
            }
        }
        Adoption::Callback { contact, queue } => {
            call.caller_gone = true;
            call.callback = Some(row.caller.clone());
            call.contact = Some(contact);
            shared.claim_contact(tenant, contact, &call.wiring.key);
            call.queued = Some(Queued {
                contact,
                queue_id: row.queue_id.unwrap_or_default(),
                request: plain_request(&queue),
                record: false,
                holding: String::new(),
            });
            call.stage = Stage::Callback;
        }
        Adoption::Restart => {
            // A transfer may have been ringing: its ringback plays until stopped, and the
            // apology and the flow's prompts would queue behind it.
            call.stop_playback(&ringback_id(&call.channel)).await;
            call.play_side_items(vec![apology]).await;
            call.start_flow().await;
        }
    }
    call.run(rx).await;
}

/// What a call placed from the inbox starts with.
pub(crate) struct Outbound {
    pub(crate) row: store::calls::CallRecord,
    pub(crate) slug: String,
    pub(crate) agent: i64,
    /// The agent's phone (`PJSIP/…`).
    pub(crate) endpoint: String,
    /// The routing contact holding the agent's voice capacity, if they are in routing.
    pub(crate) held: Option<i64>,
}

/// A call an agent places from the inbox: the agent's phone rings first; once they pick up,
/// the customer is dialled and the two are bridged (the callback path, without a queue).
pub(crate) async fn run_outbound(
    shared: Arc<Shared>,
    wiring: Wiring,
    outbound: Outbound,
    rx: mpsc::UnboundedReceiver<Input>,
) {
    let Outbound {
        row,
        slug,
        agent,
        endpoint,
        held,
    } = outbound;
    let tenant = TenantId(row.tenant_id);
    let published = match shared.deps.flows.live(tenant).await {
        Ok(Some(p)) => p,
        // No flows published: nothing of them is needed to place a call.
        _ => Arc::new(Published::empty()),
    };
    let leg = row.channel_id.clone();
    let to = row.caller.clone();
    let mut call = Call::open(shared, wiring, tenant, slug, &row, published).await;
    // Nobody is on the line until the customer answers.
    call.channel = String::new();
    call.caller_gone = true;
    call.callback = Some(to.clone());
    call.stage = Stage::Callback;
    call.contact = held;
    call.legs.insert(
        leg.clone(),
        Leg {
            kind: LegKind::Dialer { agent },
            answered: false,
            dropped: false,
        },
    );
    call.event(
        "dialing_agent",
        json!({"agent_id": agent, "to": mask_number(&to)}),
    )
    .await;
    let originate = Originate {
        endpoint,
        app_args: vec!["leg".into(), call.wiring.key.clone()],
        caller_id: Some(format!("\"Call to\" <{to}>")),
        timeout_secs: Some(30),
        channel_id: Some(leg.clone()),
        formats: vec!["ulaw".into(), "alaw".into()],
        ..Originate::default()
    };
    if let Err(e) = call.client().originate(&originate).await {
        let why = if e.status() == Some(500) {
            "the agent's phone is not registered".to_owned()
        } else {
            e.to_string()
        };
        call.event("agent_no_answer", json!({"agent_id": agent, "why": why}))
            .await;
        call.legs.clear();
        call.end_reason = Some("agent_unreachable");
        call.end().await;
        return;
    }
    call.run(rx).await;
}

/// The tenant and extension number of an agent's phone channel (`PJSIP/acme-1001-0000002a`).
pub(super) fn phone_of(channel_name: &str) -> Option<(String, String)> {
    let endpoint = channel_name.strip_prefix("PJSIP/")?.rsplit_once('-')?.0;
    let (slug, number) = endpoint.rsplit_once('-')?;
    (!slug.is_empty() && !number.is_empty() && number.chars().all(|c| c.is_ascii_digit()))
        .then(|| (slug.to_owned(), number.to_owned()))
}

/// A call dialled from an agent's phone (`Stasis(switchboard,internal,NUMBER)`): another
/// extension of the tenant, or an outside E.164 number through `voice.outbound_endpoint` with
/// the tenant's number as caller id. Anything else is refused; the dialplan never reaches the
/// trunk by itself.
pub(crate) async fn run_internal(
    shared: Arc<Shared>,
    wiring: Wiring,
    channel: Channel,
    dialled: String,
    rx: mpsc::UnboundedReceiver<Input>,
) {
    let chan = channel.id.clone();
    let store = shared.deps.store.clone();
    let from = match phone_of(&channel.name) {
        Some((slug, number)) => match store::tenants::find_tenant_by_slug(&store, &slug).await {
            Ok(Some(t)) => {
                match store::extensions::find_extension_by_number(&store, t.id, &number).await {
                    Ok(Some(x)) if x.enabled => Some((t, x)),
                    _ => None,
                }
            }
            _ => None,
        },
        None => None,
    };
    let Some((tenant, extension)) = from else {
        tracing::warn!(channel = %channel.name, "a call from a phone that is no extension of ours");
        refuse(&wiring.client, &chan, "sound:ss-noservice", Cause::Rejected).await;
        return;
    };
    shared.set_tenant(&wiring.key, tenant.id);
    let published = match shared.deps.flows.live(tenant.id).await {
        Ok(Some(p)) => p,
        _ => Arc::new(Published::empty()),
    };
    // A forwarding extension rings its target instead (one hop).
    let phones = store::extensions::list_extensions_cached(&store, tenant.id)
        .await
        .unwrap_or_default();
    let forward = super::forward::forwarding(&phones, &dialled);
    let reached = match &forward {
        Some(f) => f.target().to_owned(),
        None => dialled.clone(),
    };
    // The dialled colleague's mailbox, for a message when their phone does not take the call.
    let colleague = phones
        .iter()
        .find(|x| x.number == reached && x.enabled && x.number != extension.number);
    let mailbox = colleague.and_then(|x| x.voicemail_box.clone());
    let dnd_to_voicemail = colleague.is_some_and(|x| x.dnd) && mailbox.is_some();
    let target = if crate::ivr::is_e164(&reached) {
        let presented = published
            .catalog
            .dids()
            .next()
            .map(str::to_owned)
            .unwrap_or_default();
        Some((
            shared.deps.outbound_endpoint.replace("{number}", &reached),
            presented,
        ))
    } else {
        match phones.iter().find(|x| x.number == reached) {
            Some(x) if x.enabled && !x.dnd && x.number != extension.number => shared
                .phone_dial(
                    wiring.server,
                    &crate::voice::provision::object_id(&tenant.slug, &x.number),
                )
                .map_err(
                    |why| tracing::warn!(extension = %x.number, %why, "internal call not placed"),
                )
                .ok()
                .map(|dial| (dial, caller_id(&extension.display_name, &extension.number))),
            _ => None,
        }
    };
    if target.is_none() && !dnd_to_voicemail {
        refuse(
            &wiring.client,
            &chan,
            "sound:ss-noservice",
            Cause::Unallocated,
        )
        .await;
        return;
    }
    let row = match store::calls::insert_call(
        &store,
        tenant.id,
        NewCall {
            server: &wiring.server_name,
            channel_id: &chan,
            direction: "internal",
            did: &dialled,
            caller: &extension.number,
            flow: None,
        },
        Utc::now(),
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot record an internal call");
            refuse(&wiring.client, &chan, "sound:ss-noservice", Cause::Failure).await;
            return;
        }
    };
    shared.set_call_id(&wiring.key, row.id);
    let mut call = Call::open(
        shared.clone(),
        wiring,
        tenant.id,
        tenant.slug.clone(),
        &row,
        published,
    )
    .await;
    call.internal = true;
    call.agent = extension.user_id;
    call.event(
        "entered",
        json!({"from_extension": extension.number, "dialled": dialled}),
    )
    .await;
    if let Some(f) = &forward {
        call.event("forwarded", f.detail(&dialled)).await;
    }
    call.colleague_mailbox = mailbox;
    let Some((endpoint, caller_id)) = target else {
        // Do not disturb, with a mailbox: straight to it.
        if let Some(mailbox) = call.colleague_mailbox.take() {
            call.event("do_not_disturb", json!({"extension": reached}))
                .await;
            call.colleague_voicemail(mailbox, false).await;
        }
        call.run(rx).await;
        return;
    };
    // The phone hears ringing until the other side answers.
    let _ = call.client().ring(&chan).await;
    let request = TransferRequest {
        to: Destination::Sip(String::new()),
        caller_id,
        ring_timeout_ms: 30_000,
        whisper: Vec::new(),
    };
    if call.dial_leg(endpoint, &request).await.is_some() {
        // The colleague's phone cannot be rung at all (offline): their mailbox takes it.
        if let Some(mailbox) = call.colleague_mailbox.take() {
            call.colleague_voicemail(mailbox, false).await;
            call.run(rx).await;
            return;
        }
        call.end_reason = Some("unreachable");
        call.hang_up_caller(Cause::Unallocated).await;
        return;
    }
    call.run(rx).await;
}

/// Plays a short explanation and hangs up a call we cannot take.
pub(super) async fn refuse(client: &AriClient, channel: &str, media: &str, cause: Cause) {
    // Answering first lets the caller hear why; a failure here still ends in a hangup.
    let _ = client.answer(channel).await;
    let _ = client.play(channel, &Play::media(media)).await;
    // The announcement is short; give it time before the hangup cuts it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    if let Err(e) = client.hangup(channel, Some(cause)).await
        && !e.is_not_found()
    {
        tracing::warn!(%channel, error = %e, "cannot hang up a refused call");
    }
}

pub(super) async fn session_config(
    shared: &Shared,
    tenant: TenantId,
    published: &Published,
) -> SessionConfig {
    let directory = match store::extensions::list_extensions_cached(&shared.deps.store, tenant)
        .await
    {
        Ok(list) => list
            .iter()
            .filter(|x| x.enabled)
            .map(|x| {
                let mut words = x.display_name.split_whitespace();
                let first = words.next().unwrap_or_default().to_owned();
                let last = words.collect::<Vec<_>>().join(" ");
                interp::DirectoryEntry {
                    first_name: first,
                    last_name: last,
                    extension: x.number.clone(),
                }
            })
            .collect(),
        Err(e) => {
            tracing::warn!(tenant.id = %tenant, error = %e, "directory unavailable for this call");
            Vec::new()
        }
    };
    SessionConfig {
        http_allow_hosts: shared
            .deps
            .http_allowlist
            .clone()
            .unwrap_or_else(|| crate::ivr::simulate::http_hosts(&published.catalog)),
        directory,
        schedule_force: BTreeMap::new(),
    }
}

/// A queue request for a contact that did not come through a flow's `queue` node (a
/// standalone callback, a call adopted after a restart).
pub(super) fn plain_request(queue: &str) -> EnqueueRequest {
    EnqueueRequest {
        queue: queue.to_owned(),
        priority: 5,
        skills: Vec::new(),
        hold_music: None,
        announce_position_every_ms: None,
        announce_estimated_wait: false,
        announce_prompt: Vec::new(),
        callback: None,
        max_wait_ms: None,
        exit_keys: Vec::new(),
    }
}

/// The engine's priority (0–9, higher first) for the flow's (1 most urgent … 10).
pub(super) fn engine_priority(flow_priority: u8) -> i64 {
    i64::from(10u8.saturating_sub(flow_priority.clamp(1, 10)))
}

/// `billing` or `billing:7` → (name, minimum level).
pub(super) fn skill_levels(skills: &[String]) -> BTreeMap<String, i64> {
    skills
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            let (name, level) = crate::ivr::skill_requirement(s);
            (name.to_owned(), level)
        })
        .collect()
}
