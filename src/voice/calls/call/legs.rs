//! The legs we originate: agents' phones for offers, transfer targets, the customer of a
//! callback or click-to-call; and bridging them with the caller.

use super::forward::Forward;
use super::*;

impl Call {
    /// A leg we are about to originate: events about it reach this call from now on.
    pub(super) fn add_ringing_leg(&mut self, id: &str, kind: LegKind) {
        self.shared.claim(self.wiring.server, &self.wiring.key, id);
        self.legs.insert(
            id.to_owned(),
            Leg {
                kind,
                answered: false,
                dropped: false,
            },
        );
    }

    pub(super) async fn ring_agent(&mut self, agent: i64, deadline_ms: i64) {
        if self.contact.is_none() {
            return;
        }
        let store = self.shared.deps.store.clone();
        let phone = match store::extensions::list_extensions_cached(&store, self.tenant).await {
            Ok(list) => list
                .iter()
                .find(|x| x.enabled && !x.dnd && x.user_id == Some(agent))
                .cloned(),
            Err(e) => {
                tracing::error!(call.id = self.call_id, error = %e, "extensions unavailable");
                None
            }
        };
        let Some(phone) = phone else {
            self.not_rung(
                agent,
                json!({"agent_id": agent, "why": "the agent has no phone (or it is on do-not-disturb)"}),
            )
            .await;
            return;
        };
        let endpoint = crate::voice::provision::object_id(&self.slug, &phone.number);
        if self.shared.devices.on_unrouted_call(&endpoint) && !self.rings_in_use().await {
            // As app_queue with `ringinuse=no`: the agent is free to routing, but their phone
            // is on a call that did not come through it (a transfer, a direct call).
            self.not_rung(
                agent,
                json!({"agent_id": agent, "why": "the agent's phone is on another call"}),
            )
            .await;
            return;
        }
        let dial = match self.shared.phone_dial(self.wiring.server, &endpoint) {
            Ok(dial) => dial,
            Err(why) => {
                self.not_rung(
                    agent,
                    json!({"agent_id": agent, "extension": phone.number, "why": why}),
                )
                .await;
                return;
            }
        };
        let leg = format!("{}-a{agent}-{}", self.wiring.key, {
            self.seq += 1;
            self.seq
        });
        let ring_secs = ((deadline_ms - Utc::now().timestamp_millis()) / 1000).max(1) + 2;
        // The agent's phone shows who is calling: a callback as such, else the caller (after
        // the line's name when the DID has one).
        let caller_id = match &self.callback {
            Some(number) => caller_id("Callback", number),
            None => caller_id(&self.caller_label(&self.caller_name), &self.caller),
        };
        let waiting_caller = (!self.caller_gone).then(|| self.channel.clone());
        let originate = Originate {
            endpoint: dial,
            app_args: vec!["leg".into(), self.wiring.key.clone()],
            caller_id: Some(caller_id),
            timeout_secs: Some(ring_secs),
            channel_id: Some(leg.clone()),
            // With nobody on the line (a callback) the agent leg picks its own codecs.
            formats: if waiting_caller.is_none() {
                vec!["ulaw".into(), "alaw".into()]
            } else {
                Vec::new()
            },
            originator: waiting_caller,
            ..Originate::default()
        };
        self.add_ringing_leg(&leg, LegKind::Offer { agent });
        match self.client().originate(&originate).await {
            Ok(_) => {
                self.event(
                    "offered",
                    json!({"agent_id": agent, "extension": phone.number}),
                )
                .await;
                self.notify_agent(agent, "call_offer");
            }
            Err(e) => {
                self.legs.remove(&leg);
                self.shared.release(self.wiring.server, &leg);
                let why = if e.status() == Some(500) {
                    "the phone is not registered".to_owned()
                } else {
                    format!("{e}")
                };
                self.not_rung(
                    agent,
                    json!({"agent_id": agent, "extension": phone.number, "why": why}),
                )
                .await;
            }
        }
    }

    /// The offer to `agent` could not ring their phone (none, do-not-disturb, unregistered,
    /// on another call): the timeline says why (`detail`), and the offer is declined a second
    /// from now, so that a queue with no retry window does not offer the same agent again and
    /// again at once.
    async fn not_rung(&mut self, agent: i64, detail: Value) {
        self.event("offer_failed", detail).await;
        self.timers
            .insert(Timer::PhoneBusy(agent), Instant::now() + PHONE_BUSY_PAUSE);
    }

    /// The queue's `ring_in_use`, read when ringing (the short per-tenant copy), so that a
    /// change applies to callers already waiting.
    async fn rings_in_use(&self) -> bool {
        let Some(queue) = self.queued.as_ref().map(|q| q.queue_id) else {
            return false;
        };
        store::queues::list_queues_cached(&self.shared.deps.store, self.tenant)
            .await
            .ok()
            .and_then(|list| {
                list.iter()
                    .find(|q| q.id == queue)
                    .and_then(|q| q.settings.get("ring_in_use").and_then(Value::as_bool))
            })
            .unwrap_or(false)
    }

    pub(super) async fn decline(&self, contact: i64, agent: i64) {
        // A queue that assigns without offering connected the agent before the phone rang: a
        // phone that cannot be reached undoes that, and the caller waits for the next agent.
        if self.assigned_to(contact, agent).await {
            if let Err(e) = self.shared.deps.routing.requeue(self.tenant, contact).await {
                tracing::warn!(call.id = self.call_id, error = %e, "assignment not undone");
            }
            return;
        }
        let event = RoutingEvent::OfferDeclined {
            contact: ContactId(contact as u64),
            agent: AgentId(agent as u64),
        };
        if let Err(e) = self.shared.deps.routing.apply(self.tenant, event).await {
            tracing::warn!(call.id = self.call_id, error = %e, "decline not applied");
        }
    }

    pub(super) async fn drop_leg(&mut self, id: &str, cause: Cause) {
        if let Some(leg) = self.legs.get_mut(id) {
            leg.dropped = true;
        }
        if let Err(e) = self.client().hangup(id, Some(cause)).await
            && !e.is_not_found()
        {
            tracing::warn!(leg = %id, error = %e, "cannot hang up a leg");
        }
    }

    pub(super) async fn drop_ringing_legs(&mut self, cause: Cause) {
        let ringing: Vec<String> = self
            .legs
            .iter()
            .filter(|(_, l)| !l.dropped)
            .filter(|(id, _)| self.peer.as_deref() != Some(id.as_str()))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ringing {
            self.drop_leg(&id, cause).await;
        }
    }

    /// An agent leg or transfer leg answered (its `StasisStart`).
    pub(super) async fn leg_answered(&mut self, id: &str) {
        let Some(leg) = self.legs.get_mut(id) else {
            return;
        };
        if leg.dropped {
            return;
        }
        leg.answered = true;
        let kind = leg.kind.clone();
        // Nobody is on the line any more, except for a callback, where that is the point.
        if self.caller_gone && self.stage != Stage::Callback {
            self.drop_leg(id, Cause::Normal).await;
            return;
        }
        match kind {
            LegKind::Dialer { agent } => {
                self.call_customer(agent, id.to_owned()).await;
            }
            LegKind::Offer { agent } => {
                let Some(contact) = self.contact else {
                    self.drop_leg(id, Cause::AnsweredElsewhere).await;
                    return;
                };
                let event = RoutingEvent::OfferAccepted {
                    contact: ContactId(contact as u64),
                    agent: AgentId(agent as u64),
                };
                let won = match self.shared.deps.routing.apply(self.tenant, event).await {
                    Ok(commands) => commands.iter().any(|c| {
                        matches!(c, Command::Assigned { contact: c_id, agent: a }
                            if c_id.0 as i64 == contact && a.0 as i64 == agent)
                    }),
                    Err(e) => {
                        tracing::warn!(call.id = self.call_id, error = %e, "accept not applied");
                        false
                    }
                };
                // A queue that assigns without offering rang an agent it had already
                // connected: the accept changes nothing there, and the call is theirs.
                if won || self.still_assigned_to(agent).await {
                    self.connect(agent, id.to_owned()).await;
                } else if self.agent != Some(agent) {
                    // Another agent was faster, or the offer expired as the phone answered.
                    self.drop_leg(id, Cause::AnsweredElsewhere).await;
                }
            }
            LegKind::Customer => {
                // The callback is answered: the customer becomes the call's caller.
                self.legs.remove(id);
                self.channel = id.to_owned();
                if let Err(e) = store::calls::set_caller_channel(
                    &self.shared.deps.store,
                    self.tenant,
                    self.call_id,
                    id,
                )
                .await
                {
                    tracing::warn!(call.id = self.call_id, error = %e, "the customer's channel not recorded");
                }
                self.caller_gone = false;
                let ringback: Vec<String> = self.side_playbacks.drain().collect();
                for pb in ringback {
                    self.stop_playback(&pb).await;
                }
                if let Some(talk) = self.talk_bridge.clone()
                    && let Err(e) = self
                        .client()
                        .add_channels(&talk, &[id], &AddChannel::default())
                        .await
                {
                    self.rest_failed("bridge the callback", &e).await;
                }
                self.stage = Stage::Connected;
                self.event("callback_answered", json!({})).await;
            }
            LegKind::Consult => {
                if self.consult.as_ref().is_some_and(|c| c.leg == id) {
                    self.consult_answered(id).await;
                } else {
                    self.drop_leg(id, Cause::Normal).await;
                }
            }
            LegKind::Transfer => {
                self.stop_side_playbacks().await;
                if self.internal {
                    let channel = self.channel.clone();
                    if let Err(e) = self.client().answer(&channel).await
                        && !e.is_not_found()
                    {
                        self.rest_failed("answer", &e).await;
                    }
                }
                if self.bridge_with(id).await {
                    self.stage = Stage::Connected;
                    self.peer = Some(id.to_owned());
                    self.record_transfer(json!({"answered": true}), None).await;
                    self.feed(interp::Event::TransferResult(TransferOutcome::Answered));
                } else {
                    self.drop_leg(id, Cause::Failure).await;
                    if self.adopted || self.internal {
                        // Handed on by an agent, or a phone's own call: no flow to go back to,
                        // and silence is worse than an end.
                        self.end_reason = Some("transfer_failed");
                        self.hang_up_caller(Cause::Failure).await;
                    } else {
                        self.stage = Stage::Ivr;
                        self.feed(interp::Event::TransferResult(TransferOutcome::Failed));
                    }
                }
            }
        }
    }

    /// Puts the caller and `leg` in a new mixing bridge (leaving the lobby).
    pub(super) async fn bridge_with(&mut self, leg: &str) -> bool {
        let talk = format!("{}-talk", self.wiring.key);
        self.shared
            .claim(self.wiring.server, &self.wiring.key, &talk);
        let bridge = NewBridge {
            types: vec![BridgeType::Mixing],
            bridge_id: Some(talk.clone()),
            name: Some(talk_bridge_name(self.call_id)),
        };
        if let Err(e) = self.client().create_bridge(&bridge).await {
            self.rest_failed("create call bridge", &e).await;
            return false;
        }
        self.talk_bridge = Some(talk.clone());
        if let Err(e) = self
            .client()
            .add_channels(&talk, &[&self.channel, leg], &AddChannel::default())
            .await
        {
            self.rest_failed("bridge the call", &e).await;
            return false;
        }
        true
    }

    pub(super) async fn connect(&mut self, agent: i64, leg: String) {
        let Some(q) = self.queued.clone() else {
            self.drop_leg(&leg, Cause::Normal).await;
            return;
        };
        if self.stage == Stage::Callback {
            self.call_customer(agent, leg).await;
            return;
        }
        self.stop_side_playbacks().await;
        if !self.bridge_with(&leg).await {
            self.drop_leg(&leg, Cause::Failure).await;
            if let Some(talk) = self.talk_bridge.take() {
                self.destroy_bridge(&talk).await;
            }
            // The caller is still in the lobby with its music, and the queue's timers still
            // run: put the contact back in its place for the next agent rather than end a
            // call the caller did not give up on.
            let requeued = !self.caller_gone
                && self
                    .shared
                    .deps
                    .routing
                    .requeue(self.tenant, q.contact)
                    .await
                    .is_ok();
            if requeued {
                self.event(
                    "requeued",
                    json!({"agent_id": agent, "why": "Asterisk would not connect the call"}),
                )
                .await;
                return;
            }
            // The agent is connected in routing; end it so they are not stuck busy.
            let _ = self.shared.deps.routing.end(self.tenant, q.contact).await;
            self.end_reason.get_or_insert("failed");
            self.hang_up_caller(Cause::Failure).await;
            return;
        }
        self.clear_queue_timers();
        self.destroy_bridge(&q.holding).await;
        if let Some(q) = &mut self.queued {
            q.holding.clear();
        }
        self.agent = Some(agent);
        self.peer = Some(leg.clone());
        self.stage = Stage::Connected;
        self.drop_ringing_legs(Cause::AnsweredElsewhere).await;
        // The entry first: whoever reads the row connected finds it in the timeline.
        self.event("answered", json!({"agent_id": agent})).await;
        self.connected_row(agent).await;
        let store = self.shared.deps.store.clone();
        if q.record
            && let Some(talk) = self.talk_bridge.clone()
        {
            // No `/` in names: Asterisk would make sub-folders and URLs would need escaping.
            let name = format!("t{}-call-{}", self.tenant, self.call_id);
            let record = Record {
                name: name.clone(),
                format: "wav".into(),
                if_exists: Some("overwrite".into()),
                ..Record::default()
            };
            match self.client().record_bridge(&talk, &record).await {
                Ok(_) => {
                    match store::calls::insert_recording(
                        &store,
                        self.tenant,
                        self.call_id,
                        store::calls::NewRecording {
                            kind: "recording",
                            name: &name,
                            format: "wav",
                            mailbox: None,
                        },
                        Utc::now(),
                    )
                    .await
                    {
                        Ok(row) => self.recording = Some((row.id, name.clone())),
                        Err(e) => tracing::warn!(error = %e, "recording row not stored"),
                    }
                    self.event("recording", json!({"name": name})).await;
                }
                Err(e) => self.rest_failed("record", &e).await,
            }
        }
        self.notify_agent(agent, "call_connected");
        self.feed(interp::Event::QueueResult(QueueOutcome::Connected));
    }

    /// The call's row says it is connected to `agent` (after the timeline's entries so far).
    async fn connected_row(&self, agent: i64) {
        let change = CallChange::Connected {
            call: self.call_id,
            agent,
            at: Utc::now(),
        };
        self.shared.timeline.change_row(self.tenant, change).await;
    }

    /// A callback taken by `agent` (on `leg`): the agent waits in the call bridge hearing
    /// ringback while we dial the customer.
    pub(super) async fn call_customer(&mut self, agent: i64, leg: String) {
        let Some(number) = self.callback.clone() else {
            return;
        };
        self.agent = Some(agent);
        self.peer = Some(leg.clone());
        let talk = format!("{}-talk", self.wiring.key);
        self.shared
            .claim(self.wiring.server, &self.wiring.key, &talk);
        let bridge = NewBridge {
            types: vec![BridgeType::Mixing],
            bridge_id: Some(talk.clone()),
            // The call's bridge name: a restart finds it by this (see `talk_bridge_name`).
            name: Some(talk_bridge_name(self.call_id)),
        };
        let bridged = match self.client().create_bridge(&bridge).await {
            Ok(_) => {
                self.talk_bridge = Some(talk.clone());
                self.client()
                    .add_channels(&talk, &[&leg], &AddChannel::default())
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = bridged {
            self.rest_failed("callback bridge", &e).await;
            self.end_reason = Some("failed");
            self.finish_connected().await;
            self.end().await;
            return;
        }
        self.connected_row(agent).await;
        self.event(
            "callback_dialing",
            json!({"agent_id": agent, "number": mask_number(&number)}),
        )
        .await;
        self.notify_agent(agent, "call_connected");
        let customer = self.next_id("c");
        let originate = Originate {
            endpoint: self
                .shared
                .deps
                .outbound_endpoint
                .replace("{number}", &number),
            app_args: vec!["leg".into(), self.wiring.key.clone()],
            caller_id: Some(self.presented(&self.did)),
            timeout_secs: Some(30),
            channel_id: Some(customer.clone()),
            originator: Some(leg.clone()),
            ..Originate::default()
        };
        self.add_ringing_leg(&customer, LegKind::Customer);
        // Ringback for the agent while the customer's phone rings.
        self.play_ringback_to(&leg).await;
        if let Err(e) = self.client().originate(&originate).await {
            self.legs.remove(&customer);
            self.event("callback_failed", json!({"why": e.to_string()}))
                .await;
            self.end_reason = Some("callback_failed");
            self.finish_connected().await;
            self.end().await;
        }
    }

    pub(super) async fn transfer(&mut self, mut request: TransferRequest) -> Option<interp::Event> {
        if let Destination::Extension(number) = &request.to {
            let number = number.clone();
            if let Some(refused) = self.extension_refuses(&number).await {
                return Some(refused);
            }
            match self.forwarded(&number).await {
                Some(Forward::Extension(to)) => {
                    if let Some(refused) = self.extension_refuses(&to).await {
                        return Some(refused);
                    }
                    request.to = Destination::Extension(to);
                }
                Some(Forward::Number(to)) => request.to = Destination::Number(to),
                None => {}
            }
        }
        let endpoint = match &request.to {
            Destination::Extension(number) => self.shared.phone_dial(
                self.wiring.server,
                &crate::voice::provision::object_id(&self.slug, number),
            ),
            Destination::Number(number) => Ok(self
                .shared
                .deps
                .outbound_endpoint
                .replace("{number}", number)),
            Destination::Sip(uri) if crate::ivr::is_dialable_sip_uri(uri) => {
                Ok(self.shared.deps.sip_uri_endpoint.replace("{uri}", uri))
            }
            Destination::Sip(_) => Err(
                "the SIP URI cannot be dialled (sip:user@host, no spaces, commas or &)".to_owned(),
            ),
        };
        let endpoint = match endpoint {
            Ok(endpoint) => endpoint,
            Err(why) => {
                self.event("transfer_failed", json!({"why": why})).await;
                return Some(interp::Event::TransferResult(TransferOutcome::Failed));
            }
        };
        self.transfer_to = Some(match &request.to {
            Destination::Extension(number) => self.extension_party(number).await,
            Destination::Number(number) | Destination::Sip(number) => number.clone(),
        });
        self.transfer_extension = match &request.to {
            Destination::Extension(number) => Some(number.clone()),
            _ => None,
        };
        self.dial_leg(endpoint, &request).await
    }

    /// A customer's call answered on an agent's desk takes that agent's voice capacity, as a
    /// call they place from the inbox does: routing then offers them no second call, and chats
    /// only as their cross-medium rule allows. The hold ends with the call (wrap-up follows).
    /// Returns the hold's contact, which the call row names so that a restart keeps it.
    async fn hold_colleague(&mut self) -> Option<i64> {
        // A phone's own call is not a customer's; a call still holding a contact keeps it.
        if self.internal || self.contact.is_some() {
            return None;
        }
        let number = self.transfer_extension.clone()?;
        let contact = self.hold_desk_at(&number, DeskHold::Transfer).await?;
        self.shared
            .claim_contact(self.tenant, contact, &self.wiring.key);
        self.contact = Some(contact);
        Some(contact)
    }

    /// Holds the voice capacity of the agent whose phone is extension `number` (see
    /// [`crate::routing::service::RoutingService::hold_desk`]), counted in this call's queue when they serve it, else
    /// in their first. None when the phone is nobody's, or its agent is not routed or already
    /// on a call.
    pub(super) async fn hold_desk_at(&mut self, number: &str, why: DeskHold) -> Option<i64> {
        let store = self.shared.deps.store.clone();
        let list = store::extensions::list_extensions_cached(&store, self.tenant)
            .await
            .ok()?;
        let user = list.iter().find(|x| x.number == number)?.user_id?;
        let queues =
            store::queues::queues_of_member(&store, self.tenant, crate::domain::UserId(user))
                .await
                .ok()?;
        let ours = self.queued.as_ref().map(|q| q.queue_id);
        // Not in any queue: routing offers them nothing anyway.
        let queue = match ours {
            Some(q) if queues.contains(&q) => q,
            _ => *queues.first()?,
        };
        let routing = self.shared.deps.routing.clone();
        match routing.hold_desk(self.tenant, user, queue, why).await {
            Ok(HoldOutcome::Held(contact)) => {
                self.event(
                    "colleague_held",
                    json!({"agent_id": user, "contact_id": contact}),
                )
                .await;
                Some(contact)
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(call.id = self.call_id, error = %e, "colleague's capacity not held");
                None
            }
        }
    }

    /// How the call log names extension `number`: with its display name when it has one.
    pub(super) async fn extension_party(&self, number: &str) -> String {
        let list =
            store::extensions::list_extensions_cached(&self.shared.deps.store, self.tenant).await;
        match list
            .ok()
            .and_then(|l| l.iter().find(|x| x.number == number).cloned())
        {
            Some(x) if !x.display_name.trim().is_empty() => {
                format!("extension {number} ({})", x.display_name.trim())
            }
            _ => format!("extension {number}"),
        }
    }

    /// The transfer was answered: its `transferred` entry (`detail`), and the call row
    /// connected again, with whom it is now.
    /// `held`: the contact already holding the answering agent's capacity (a consultation's).
    pub(super) async fn record_transfer(&mut self, detail: serde_json::Value, held: Option<i64>) {
        let held = match held {
            Some(contact) => Some(contact),
            None => self.hold_colleague().await,
        };
        // The entry first: whoever reads the row connected finds it in the timeline.
        self.event("transferred", detail).await;
        let store = &self.shared.deps.store;
        let result = match &self.transfer_to {
            Some(to) => {
                store::calls::set_transferred(
                    store,
                    self.tenant,
                    self.call_id,
                    to,
                    held,
                    Utc::now(),
                )
                .await
            }
            None => store::calls::set_state(store, self.tenant, self.call_id, "connected").await,
        };
        if let Err(e) = result {
            tracing::warn!(call.id = self.call_id, error = %e, "transfer not recorded on the call");
        }
    }

    /// A phone on do-not-disturb is busy to the flow (its `on_busy`) without ringing; one the
    /// tenant does not have, or has disabled, fails (`on_failure`).
    async fn extension_refuses(&mut self, number: &str) -> Option<interp::Event> {
        let store = self.shared.deps.store.clone();
        let phone = match store::extensions::list_extensions_cached(&store, self.tenant).await {
            Ok(list) => list.iter().find(|x| x.number == number).cloned(),
            // Not knowing is no reason to refuse: Asterisk tells soon enough.
            Err(_) => return None,
        };
        let (outcome, why) = match phone {
            Some(x) if x.enabled && !x.dnd => return None,
            Some(x) if x.enabled => (TransferOutcome::Busy, "the extension is on do-not-disturb"),
            _ => (TransferOutcome::Failed, "no such extension"),
        };
        self.event(
            "transfer_failed",
            json!({"to": format!("extension {number}"), "why": why}),
        )
        .await;
        Some(interp::Event::TransferResult(outcome))
    }

    /// Rings `endpoint` for the caller (a transfer, or a call from an agent's phone); the
    /// caller is bridged when it answers.
    pub(super) async fn dial_leg(
        &mut self,
        endpoint: String,
        request: &TransferRequest,
    ) -> Option<interp::Event> {
        let leg = self.next_id("x");
        let originate = Originate {
            endpoint: endpoint.clone(),
            app_args: vec!["leg".into(), self.wiring.key.clone()],
            caller_id: Some(self.presented(&request.caller_id)).filter(|c| !c.is_empty()),
            timeout_secs: Some(((request.ring_timeout_ms / 1000).max(1)) as i64),
            channel_id: Some(leg.clone()),
            originator: Some(self.channel.clone()),
            ..Originate::default()
        };
        self.add_ringing_leg(&leg, LegKind::Transfer);
        self.stage = Stage::Transferring;
        match self.client().originate(&originate).await {
            Ok(_) => {
                self.event("transferring", json!({"to": endpoint})).await;
                // Ringback while the destination rings (a phone's own call hears its 180).
                if !self.internal {
                    self.play_ringback().await;
                }
                None
            }
            Err(e) => {
                self.legs.remove(&leg);
                self.shared.release(self.wiring.server, &leg);
                self.stage = Stage::Ivr;
                self.event(
                    "transfer_failed",
                    json!({"to": endpoint, "why": e.to_string()}),
                )
                .await;
                Some(interp::Event::TransferResult(TransferOutcome::Failed))
            }
        }
    }
}
