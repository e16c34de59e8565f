//! What the agent on a connected call does with it from the inbox: hold and resume, blind
//! transfer, and attended (consultative) transfer.
//!
//! Holding takes the caller out of the call bridge into music on hold; the agent stays in the
//! bridge. A consultation holds the caller and rings the colleague (an extension or a number)
//! from the agent's leg, with ringback for the agent; once answered, agent and colleague talk
//! in the call bridge while the caller keeps hearing music. The agent then completes (the
//! caller is bridged with the colleague, the agent's phone hangs up and wrap-up starts) or
//! cancels (the colleague is hung up, the caller is back with the agent). The colleague hanging
//! up, or not answering, brings the caller back too. The agent hanging up during a
//! consultation completes it, as a PBX's attended transfer does: with the colleague still
//! ringing, the caller hears the ringing and is bridged on answer. Once the colleague answered
//! the agent may also join the caller in (a three-way call) and then leave, or drop the
//! colleague.

use super::forward::Forward;
use super::*;

/// The colleague an agent is consulting while the caller holds.
#[derive(Debug, Clone)]
pub(super) struct Consult {
    pub leg: String,
    /// Where, as the agent asked for it (for the timeline and the inbox card).
    pub to: TransferTarget,
    pub answered: bool,
    /// The caller talks with both (a three-way call), no longer on hold.
    pub joined: bool,
    /// The routing contact holding the consulted agent's voice capacity once they answered
    /// (their phone is busy with us: routing must not ring it for a queue call meanwhile).
    pub hold: Option<i64>,
}

/// Where a transfer or consultation goes, once checked against the tenant's setup.
enum Dest {
    /// An endpoint to originate (an extension's phone, or a number through the trunk).
    Leg(String),
    /// A queue, by name: the caller waits again.
    Queue(String),
}

impl Call {
    pub(super) async fn on_agent_action(&mut self, action: CallAction) -> Result<(), String> {
        if self.stage != Stage::Connected || self.caller_gone || self.peer.is_none() {
            return Err("the call is not connected".into());
        }
        // Once handed on (to a colleague's phone or a number) the call is nobody's in the
        // inbox: the agent who transferred it must not hold or move the others' talk.
        if self.agent.is_none() {
            return Err(match &self.transfer_to {
                Some(to) => format!("the call was handed on to {to}"),
                None => "the call is with no agent".to_owned(),
            });
        }
        let consulting = self.consult.is_some();
        match action {
            CallAction::Transfer(_) | CallAction::Consult(_) | CallAction::Hold if consulting => {
                Err("complete or cancel the consultation first".into())
            }
            CallAction::Resume if consulting => {
                Err("cancel the consultation to talk to the caller again".into())
            }
            CallAction::CompleteConsult | CallAction::CancelConsult | CallAction::Conference
                if !consulting =>
            {
                Err("there is no consultation on this call".into())
            }
            CallAction::Conference => self.join_all().await,
            CallAction::Transfer(to) => self.agent_transfer(to).await,
            CallAction::Consult(to) => self.start_consult(to).await,
            CallAction::CompleteConsult => {
                self.complete_consult().await;
                Ok(())
            }
            CallAction::CancelConsult => {
                self.cancel_consult().await;
                Ok(())
            }
            CallAction::Hold => {
                if !self.held {
                    self.hold_caller().await?;
                    self.event("on_hold", json!({"agent_id": self.agent})).await;
                    self.notify_peer_agent();
                }
                Ok(())
            }
            CallAction::Resume => {
                if self.held {
                    self.unhold_caller().await?;
                    self.event("off_hold", json!({"agent_id": self.agent}))
                        .await;
                    self.notify_peer_agent();
                }
                Ok(())
            }
        }
    }

    async fn destination(&self, to: &TransferTarget) -> Result<Dest, String> {
        let store = self.shared.deps.store.clone();
        match to {
            TransferTarget::Extension(number) => {
                // The same short per-tenant copy the offers and flow transfers read.
                let list = store::extensions::list_extensions_cached(&store, self.tenant).await;
                match list
                    .ok()
                    .and_then(|l| l.iter().find(|x| &x.number == number).cloned())
                {
                    Some(x) if x.enabled && !x.dnd => {
                        let endpoint = crate::voice::provision::object_id(&self.slug, &x.number);
                        // Asterisk said the phone is not registered: ringing it would fail at
                        // once, after the agent had let go of the caller.
                        if self.shared.phone_offline(&endpoint) {
                            return Err(format!(
                                "the phone of extension {number} is not registered"
                            ));
                        }
                        self.shared
                            .phone_dial(self.wiring.server, &endpoint)
                            .map(Dest::Leg)
                    }
                    Some(_) => Err(format!("extension {number} takes no calls now")),
                    None => Err(format!("no extension {number}")),
                }
            }
            TransferTarget::Number(number) if crate::ivr::is_e164(number) => Ok(Dest::Leg(
                self.shared
                    .deps
                    .outbound_endpoint
                    .replace("{number}", number),
            )),
            TransferTarget::Number(number) => Err(format!("{number} is not an E.164 number")),
            TransferTarget::Queue(name) => {
                let queues = store::queues::list_queues(&store, self.tenant)
                    .await
                    .map_err(|e| e.to_string())?;
                let Some(queue) = queues.iter().find(|q| &q.name == name) else {
                    return Err(format!("no queue {name}"));
                };
                // The queue would turn the caller away at once (nobody available, ringing, busy
                // or in wrap-up), with the agent already gone.
                if !self
                    .shared
                    .deps
                    .routing
                    .queue_staffed(self.tenant, queue.id)
                    .await
                {
                    return Err(format!("nobody in queue {name} can take calls now"));
                }
                Ok(Dest::Queue(name.clone()))
            }
        }
    }

    /// An agent hands the connected caller on (blind transfer): to another extension or a
    /// number, rung with ringback and bridged on answer; or back into a queue. The agent's leg
    /// is hung up and the agent goes to wrap-up at once. With no flow to return to, a failed
    /// transfer ends the call.
    async fn agent_transfer(&mut self, to: TransferTarget) -> Result<(), String> {
        let to = self.follow_forwarding(to).await;
        let dest = self.destination(&to).await?;
        self.transfer_to = self.party(&to).await;
        self.transfer_extension = extension_of(&to);
        self.event(
            "transferred_by_agent",
            json!({"agent_id": self.agent, "to": format!("{to:?}")}),
        )
        .await;
        if self.held {
            self.stop_hold_music().await;
        }
        // The agent leaves: wrap-up starts, the bridge and its recording close.
        self.finish_connected().await;
        self.agent = None;
        self.adopted = true;
        match dest {
            Dest::Leg(endpoint) => {
                let request = TransferRequest {
                    to: Destination::Sip(String::new()),
                    caller_id: caller_id(&self.caller_label(&self.caller_name), &self.caller),
                    ring_timeout_ms: 30_000,
                    whisper: Vec::new(),
                };
                if self.dial_leg(endpoint, &request).await.is_some() {
                    self.end_reason = Some("transfer_failed");
                    self.hang_up_caller(Cause::Normal).await;
                }
            }
            Dest::Queue(name) => {
                self.stage = Stage::Ivr;
                if self.enqueue(plain_request(&name)).await.is_some() {
                    self.end_reason = Some("transfer_failed");
                    self.hang_up_caller(Cause::Normal).await;
                }
            }
        }
        Ok(())
    }

    /// The extension or number a transfer or consultation to a forwarding extension reaches.
    async fn follow_forwarding(&mut self, to: TransferTarget) -> TransferTarget {
        let TransferTarget::Extension(number) = &to else {
            return to;
        };
        let number = number.clone();
        match self.forwarded(&number).await {
            Some(Forward::Extension(n)) => TransferTarget::Extension(n),
            Some(Forward::Number(n)) => TransferTarget::Number(n),
            None => to,
        }
    }

    /// How the call log names a transfer target (a queue's next agent names itself).
    async fn party(&self, to: &TransferTarget) -> Option<String> {
        match to {
            TransferTarget::Extension(number) => Some(self.extension_party(number).await),
            TransferTarget::Number(number) => Some(number.clone()),
            TransferTarget::Queue(_) => None,
        }
    }

    /// Holds the caller and rings `to` from the agent's leg.
    async fn start_consult(&mut self, to: TransferTarget) -> Result<(), String> {
        let to = self.follow_forwarding(to).await;
        let Dest::Leg(endpoint) = self.destination(&to).await? else {
            return Err("a queue cannot be consulted: transfer the call to it".into());
        };
        if let TransferTarget::Extension(number) = &to
            && self
                .agent_extension()
                .await
                .is_some_and(|x| &x.number == number)
        {
            return Err("that is your own phone".into());
        }
        let Some(agent_leg) = self.peer.clone() else {
            return Err("the call is not connected".into());
        };
        let was_held = self.held;
        if !was_held {
            self.hold_caller().await?;
        }
        let caller_id = match &to {
            // The colleague's phone shows who is asking; the trunk needs one of our numbers.
            TransferTarget::Extension(_) => self
                .agent_extension()
                .await
                .map(|x| caller_id(&x.display_name, &x.number)),
            _ => self.shared.deps.outbound_caller_id.clone(),
        }
        .unwrap_or_else(|| self.did.clone());
        let leg = self.next_id("k");
        let originate = Originate {
            endpoint: endpoint.clone(),
            app_args: vec!["leg".into(), self.wiring.key.clone()],
            caller_id: Some(caller_id),
            timeout_secs: Some(30),
            channel_id: Some(leg.clone()),
            originator: Some(agent_leg.clone()),
            ..Originate::default()
        };
        self.add_ringing_leg(&leg, LegKind::Consult);
        if let Err(e) = self.client().originate(&originate).await {
            self.legs.remove(&leg);
            self.shared.release(self.wiring.server, &leg);
            let why = if e.status() == Some(500) {
                "the phone is not registered".to_owned()
            } else {
                e.to_string()
            };
            self.event(
                "consult_failed",
                json!({"to": format!("{to:?}"), "why": why}),
            )
            .await;
            if !was_held {
                let _ = self.unhold_caller().await;
            }
            return Err(format!("cannot call {}: {why}", describe(&to)));
        }
        self.consult = Some(Consult {
            leg,
            to: to.clone(),
            answered: false,
            joined: false,
            hold: None,
        });
        // Ringback for the agent while the colleague's phone rings.
        self.play_ringback_to(&agent_leg).await;
        self.event(
            "consulting",
            json!({"agent_id": self.agent, "to": format!("{to:?}")}),
        )
        .await;
        self.notify_peer_agent();
        Ok(())
    }

    /// The caller joins the agent and the colleague: a three-way call. The agent can then
    /// leave (the other two go on talking), drop the colleague, or hang up.
    async fn join_all(&mut self) -> Result<(), String> {
        match &self.consult {
            Some(c) if c.joined => return Ok(()),
            Some(c) if !c.answered => {
                return Err("the colleague has not answered yet".into());
            }
            _ => {}
        }
        self.unhold_caller().await?;
        if let Some(c) = &mut self.consult {
            c.joined = true;
        }
        self.event("conference", json!({"agent_id": self.agent}))
            .await;
        self.notify_peer_agent();
        Ok(())
    }

    /// The colleague answered: they join the agent in the call bridge.
    pub(super) async fn consult_answered(&mut self, id: &str) {
        let Some(talk) = self.talk_bridge.clone() else {
            self.drop_leg(id, Cause::Normal).await;
            return;
        };
        self.stop_side_playbacks().await;
        if let Err(e) = self
            .client()
            .add_channels(&talk, &[id], &AddChannel::default())
            .await
        {
            self.rest_failed("bridge the consultation", &e).await;
            self.drop_leg(id, Cause::Failure).await;
            self.consult_over("consult_failed", json!({"why": e.to_string()}))
                .await;
            return;
        }
        let hold = match self.consult.as_ref().map(|c| c.to.clone()) {
            Some(TransferTarget::Extension(number)) => {
                self.hold_desk_at(&number, DeskHold::Consultation).await
            }
            _ => None,
        };
        if let Some(contact) = hold {
            self.shared
                .claim_contact(self.tenant, contact, &self.wiring.key);
            // Should a restart hand the caller to this colleague, they are held again.
            if let Err(e) = store::calls::set_consult_contact(
                &self.shared.deps.store,
                self.tenant,
                self.call_id,
                Some(contact),
            )
            .await
            {
                tracing::warn!(call.id = self.call_id, error = %e, "consultation's hold not named on the call");
            }
        }
        if let Some(c) = &mut self.consult {
            c.answered = true;
            c.hold = hold;
        }
        self.event("consult_answered", json!({})).await;
        self.notify_peer_agent();
    }

    /// The colleague's leg ended by itself: busy, no answer, or hung up after talking.
    pub(super) async fn consult_leg_gone(&mut self, cause: Option<i64>) {
        let answered = self.consult.as_ref().is_some_and(|c| c.answered);
        if answered {
            self.consult_over("consult_ended", json!({"by": "consulted"}))
                .await;
        } else {
            self.consult_over(
                "consult_failed",
                json!({"cause": cause, "why": cause_text(cause)}),
            )
            .await;
        }
    }

    async fn cancel_consult(&mut self) {
        if let Some(c) = &self.consult {
            let leg = c.leg.clone();
            self.drop_leg(&leg, Cause::Normal).await;
        }
        self.consult_over("consult_cancelled", json!({"agent_id": self.agent}))
            .await;
    }

    /// The consultation is over without a transfer: the caller is back with the agent.
    async fn consult_over(&mut self, kind: &str, detail: Value) {
        let Some(consult) = self.consult.take() else {
            return;
        };
        self.release_consult_hold(consult.hold).await;
        self.stop_side_playbacks().await;
        self.event(kind, detail).await;
        if !self.caller_gone && self.unhold_caller().await.is_err() {
            // The caller cannot get back to the agent: better a clean end than dead air.
            self.end_reason.get_or_insert("failed");
            self.finish_connected().await;
            self.hang_up_caller(Cause::Failure).await;
            return;
        }
        self.notify_peer_agent();
    }

    /// The caller goes to the colleague and the agent leaves (wrap-up starts). With the
    /// colleague still ringing the caller hears ringback and is bridged on answer; when they do
    /// not answer, the call ends as a failed transfer would.
    pub(super) async fn complete_consult(&mut self) {
        let Some(consult) = self.consult.take() else {
            return;
        };
        self.event(
            "transferred_by_agent",
            json!({"agent_id": self.agent, "to": format!("{:?}", consult.to), "attended": true,
                   "answered": consult.answered, "conference": consult.joined}),
        )
        .await;
        self.stop_side_playbacks().await;
        self.stop_hold_music().await;
        self.transfer_to = self.party(&consult.to).await;
        self.transfer_extension = extension_of(&consult.to);
        // From now on the colleague's leg is the caller's transfer.
        if let Some(leg) = self.legs.get_mut(&consult.leg) {
            leg.kind = LegKind::Transfer;
        }
        self.finish_connected().await;
        self.agent = None;
        self.adopted = true;
        // The consulted agent's hold is the call's now: it ends with the call.
        self.contact = consult.hold;
        if let Some(contact) = consult.hold
            && let Err(e) = self
                .shared
                .deps
                .routing
                .keep_hold(self.tenant, contact)
                .await
        {
            tracing::warn!(call.id = self.call_id, error = %e, "consultation's hold not kept for the transfer");
        }
        if self.caller_gone {
            return;
        }
        if consult.answered {
            if self.bridge_with(&consult.leg).await {
                self.stage = Stage::Connected;
                self.peer = Some(consult.leg);
                self.record_transfer(json!({"answered": true, "attended": true}), consult.hold)
                    .await;
            } else {
                self.drop_leg(&consult.leg, Cause::Failure).await;
                self.end_reason = Some("transfer_failed");
                self.hang_up_caller(Cause::Normal).await;
            }
        } else {
            self.stage = Stage::Transferring;
            self.event("transferring", json!({"to": format!("{:?}", consult.to)}))
                .await;
            self.play_ringback().await;
        }
    }

    /// A consultation over without a transfer: the consulted agent's phone is free again
    /// (into wrap-up, as after any call they took).
    pub(super) async fn release_consult_hold(&mut self, hold: Option<i64>) {
        let Some(contact) = hold else {
            return;
        };
        if let Err(e) = self.shared.deps.routing.end(self.tenant, contact).await {
            tracing::debug!(call.id = self.call_id, error = %e, "consultation's hold already ended");
        }
        self.shared.release_contact(self.tenant, contact);
        let _ = store::calls::set_consult_contact(
            &self.shared.deps.store,
            self.tenant,
            self.call_id,
            None,
        )
        .await;
    }

    /// A held caller found after a restart of our service goes back to the agent.
    pub(super) async fn resume_after_restart(&mut self) {
        if self.unhold_caller().await.is_ok() {
            self.event("off_hold", json!({"after_restart": true})).await;
        }
    }

    /// Out of the call bridge, into music on hold; the agent stays in the bridge.
    async fn hold_caller(&mut self) -> Result<(), String> {
        let Some(talk) = self.talk_bridge.clone() else {
            return Err("the call is not bridged".into());
        };
        let channel = self.channel.clone();
        if let Err(e) = self.client().remove_channels(&talk, &[&channel]).await {
            self.rest_failed("hold", &e).await;
            return Err(format!("cannot hold the caller: {e}"));
        }
        self.held = true;
        let class = self
            .queued
            .as_ref()
            .and_then(|q| q.request.hold_music.clone());
        if let Err(e) = self.client().start_moh(&channel, class.as_deref()).await
            && !e.is_not_found()
        {
            // Silence is worse than music but better than dropping the hold.
            self.rest_failed("music on hold", &e).await;
        }
        Ok(())
    }

    /// Back into the call bridge (nothing to do when the caller is in it).
    async fn unhold_caller(&mut self) -> Result<(), String> {
        if !self.held {
            return Ok(());
        }
        let Some(talk) = self.talk_bridge.clone() else {
            return Err("the call is not bridged".into());
        };
        self.stop_hold_music().await;
        let channel = self.channel.clone();
        if let Err(e) = self
            .client()
            .add_channels(&talk, &[&channel], &AddChannel::default())
            .await
        {
            self.rest_failed("resume", &e).await;
            // Back to the music, still on hold (Resume can be tried again): not silence.
            let class = self
                .queued
                .as_ref()
                .and_then(|q| q.request.hold_music.clone());
            let _ = self.client().start_moh(&channel, class.as_deref()).await;
            self.held = true;
            return Err(format!("cannot bring the caller back: {e}"));
        }
        Ok(())
    }

    async fn stop_hold_music(&mut self) {
        if !std::mem::take(&mut self.held) {
            return;
        }
        let channel = self.channel.clone();
        if let Err(e) = self.client().stop_moh(&channel).await
            && !e.is_not_found()
        {
            tracing::warn!(call.id = self.call_id, error = %e, "cannot stop music on hold");
        }
    }

    /// The phone of the agent on the call.
    async fn agent_extension(&self) -> Option<store::extensions::ExtensionRecord> {
        let agent = self.agent?;
        let list = store::extensions::list_extensions_cached(&self.shared.deps.store, self.tenant)
            .await
            .ok()?;
        list.iter().find(|x| x.user_id == Some(agent)).cloned()
    }

    /// The agent's card shows hold and consultation as they change.
    fn notify_peer_agent(&self) {
        if let Some(agent) = self.agent {
            self.notify_agent(agent, "call_connected");
        }
    }
}

fn extension_of(to: &TransferTarget) -> Option<String> {
    match to {
        TransferTarget::Extension(number) => Some(number.clone()),
        _ => None,
    }
}

fn describe(to: &TransferTarget) -> String {
    match to {
        TransferTarget::Extension(n) => format!("extension {n}"),
        TransferTarget::Number(n) => n.clone(),
        TransferTarget::Queue(q) => format!("queue {q}"),
    }
}
