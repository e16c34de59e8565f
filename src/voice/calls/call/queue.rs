//! Waiting in a queue: the lobby, announcements, exit keys, callbacks, and routing's
//! decisions about the call's contact.

use super::*;

impl Call {
    /// Back into a lobby after a restart, in the contact's original place (routing kept it).
    pub(super) async fn rejoin_queue(&mut self, contact: i64, queue: &str, apology: Vec<String>) {
        let holding = format!("{}-hold", self.wiring.key);
        self.shared
            .claim(self.wiring.server, &self.wiring.key, &holding);
        let bridge = NewBridge {
            types: vec![BridgeType::Holding],
            bridge_id: Some(holding.clone()),
            name: Some(format!("queue {queue}")),
        };
        let joined = match self.client().create_bridge(&bridge).await {
            Ok(_) => {
                self.client()
                    .add_channels(&holding, &[&self.channel], &AddChannel::default())
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = joined {
            self.rest_failed("rejoin the lobby", &e).await;
        }
        let _ = self.client().start_bridge_moh(&holding, None).await;
        self.shared
            .claim_contact(self.tenant, contact, &self.wiring.key);
        self.contact = Some(contact);
        let queue_id = store::calls::find_call(&self.shared.deps.store, self.tenant, self.call_id)
            .await
            .ok()
            .flatten()
            .and_then(|c| c.queue_id)
            .unwrap_or_default();
        self.queued = Some(Queued {
            contact,
            queue_id,
            request: plain_request(queue),
            record: false,
            holding,
        });
        self.stage = Stage::Queued;
        self.play_side(apology).await;
    }

    pub(super) async fn enqueue(&mut self, request: EnqueueRequest) -> Option<interp::Event> {
        let store = self.shared.deps.store.clone();
        let queue = match store::queues::list_queues_cached(&store, self.tenant).await {
            Ok(list) => list.iter().find(|q| q.name == request.queue).cloned(),
            Err(e) => {
                tracing::error!(call.id = self.call_id, error = %e, "queues unavailable");
                None
            }
        };
        let Some(queue) = queue else {
            self.event(
                "queue_failed",
                json!({"queue": request.queue, "why": "no such queue"}),
            )
            .await;
            return Some(interp::Event::QueueResult(QueueOutcome::NoAgents));
        };
        let routing = self.shared.deps.routing.clone();
        if !routing.queue_staffed(self.tenant, queue.id).await {
            self.event(
                "queue_failed",
                json!({"queue": request.queue, "why": "no agent is logged in"}),
            )
            .await;
            return Some(interp::Event::QueueResult(QueueOutcome::NoAgents));
        }
        let holding = format!("{}-hold", self.wiring.key);
        let bridge = NewBridge {
            types: vec![BridgeType::Holding],
            bridge_id: Some(holding.clone()),
            name: Some(format!("queue {}", queue.name)),
        };
        self.shared
            .claim(self.wiring.server, &self.wiring.key, &holding);
        if let Err(e) = self.client().create_bridge(&bridge).await {
            self.rest_failed("create holding bridge", &e).await;
            return Some(interp::Event::QueueResult(QueueOutcome::NoAgents));
        }
        if let Err(e) = self
            .client()
            .add_channels(&holding, &[&self.channel], &AddChannel::default())
            .await
        {
            self.rest_failed("join holding bridge", &e).await;
            self.destroy_bridge(&holding).await;
            return Some(interp::Event::QueueResult(QueueOutcome::NoAgents));
        }
        if let Err(e) = self
            .client()
            .start_bridge_moh(&holding, request.hold_music.as_deref())
            .await
        {
            self.rest_failed("music on hold", &e).await;
        }
        let skills =
            serde_json::to_string(&skill_levels(&request.skills)).unwrap_or_else(|_| "{}".into());
        let stored = match store::routed_contacts::insert_for_call(
            &store,
            self.tenant,
            self.call_id,
            store::routed_contacts::NewRoutedContact {
                queue_id: queue.id,
                medium: "voice",
                channel: "voice",
                priority: engine_priority(request.priority),
                required_skills: &skills,
                enqueued_at: Utc::now(),
                callback: false,
            },
        )
        .await
        {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(call.id = self.call_id, error = %e, "cannot queue the call");
                self.destroy_bridge(&holding).await;
                return Some(interp::Event::QueueResult(QueueOutcome::NoAgents));
            }
        };
        self.shared
            .claim_contact(self.tenant, stored.id, &self.wiring.key);
        self.contact = Some(stored.id);
        let record = queue
            .settings
            .get("record_calls")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        self.queued = Some(Queued {
            contact: stored.id,
            queue_id: queue.id,
            request: request.clone(),
            record,
            holding,
        });
        self.stage = Stage::Queued;
        let state = routing.enqueue_stored(self.tenant, &stored).await;
        let (position, ewt) = match &state {
            Ok(s) => (s.position, s.ewt_secs),
            Err(_) => (None, None),
        };
        self.event(
            "queued",
            json!({"queue": queue.name, "queue_id": queue.id, "contact_id": stored.id,
                   "priority": request.priority, "skills": request.skills, "position": position, "ewt_secs": ewt}),
        )
        .await;
        if let Err(e) = state {
            tracing::error!(call.id = self.call_id, error = %e, "routing refused the call");
        }
        let now = Instant::now();
        if let Some(ms) = request.max_wait_ms {
            self.timers
                .insert(Timer::QueueMaxWait, now + Duration::from_millis(ms));
        }
        if let Some(ms) = request.announce_position_every_ms {
            self.timers
                .insert(Timer::Announce, now + Duration::from_millis(ms));
        }
        if let Some(cb) = &request.callback {
            let after = cb.offer_after_ms.unwrap_or(0);
            self.timers
                .insert(Timer::CallbackOffer, now + Duration::from_millis(after));
        }
        None
    }

    /// Says the caller's position (and wait), from the engine's command or our own timer.
    pub(super) async fn announce_position(&mut self, told: Option<(u32, u32)>) {
        let Some(q) = self.queued.clone() else { return };
        if self.stage != Stage::Queued {
            return;
        }
        let figures = match told {
            Some(f) => Some(f),
            None => self
                .shared
                .deps
                .routing
                .contact_state(self.tenant, q.contact)
                .await
                .ok()
                .and_then(|s| Some((s.position?, s.ewt_secs.unwrap_or(0)))),
        };
        if let Some((position, ewt)) = figures {
            // Asterisk's own queue prompts (app_queue's), in the caller's language.
            let mut media = vec![];
            if position <= 1 {
                media.push("sound:queue-youarenext".to_owned());
            } else {
                media.push("sound:queue-thereare".to_owned());
                media.push(format!("number:{}", position - 1));
                media.push("sound:queue-callswaiting".to_owned());
            }
            if q.request.announce_estimated_wait && ewt >= 60 {
                media.push("sound:queue-holdtime".to_owned());
                media.push(format!("number:{}", ewt.div_ceil(60)));
                media.push("sound:queue-minutes".to_owned());
            }
            let (extra, _) = self.media(&q.request.announce_prompt).await;
            media.extend(extra);
            self.event("announced", json!({"position": position, "ewt_secs": ewt}))
                .await;
            self.play_side(media).await;
        }
        if told.is_none()
            && let Some(ms) = q.request.announce_position_every_ms
        {
            self.timers
                .insert(Timer::Announce, Instant::now() + Duration::from_millis(ms));
        }
    }

    pub(super) async fn offer_callback(&mut self) {
        let Some(q) = self.queued.clone() else { return };
        let Some(cb) = q.request.callback.clone() else {
            return;
        };
        if self.stage != Stage::Queued {
            return;
        }
        let (media, _) = self.media(&cb.prompt).await;
        self.event("callback_offered", json!({"key": cb.key.to_string()}))
            .await;
        self.play_side(media).await;
        if let Some(every) = cb.offer_every_ms {
            self.timers.insert(
                Timer::CallbackOffer,
                Instant::now() + Duration::from_millis(every),
            );
        }
    }

    /// The caller leaves the queue by the flow's rule (max wait, exit key, overflow): the
    /// contact is withdrawn and the flow continues on the matching exit.
    pub(super) async fn leave_queue(&mut self, outcome: QueueOutcome, why: &str) {
        let Some(q) = self.queued.take() else { return };
        if self.stage != Stage::Queued {
            self.queued = Some(q);
            return;
        }
        self.clear_queue_timers();
        self.drop_ringing_legs(Cause::NoAnswer).await;
        self.leave_routing(q.contact, true).await;
        self.shared.release_contact(self.tenant, q.contact);
        self.contact = None;
        self.stop_side_playbacks().await;
        self.destroy_bridge(&q.holding).await;
        self.event("left_queue", json!({"why": why})).await;
        if self.adopted {
            // The flow's exits are unknown for a call taken up after a restart.
            self.end_reason.get_or_insert("left_queue");
            self.hang_up_caller(Cause::Normal).await;
            return;
        }
        self.stage = Stage::Ivr;
        if let Err(e) =
            store::calls::set_state(&self.shared.deps.store, self.tenant, self.call_id, "ivr").await
        {
            tracing::warn!(call.id = self.call_id, error = %e, "call row not updated");
        }
        self.feed(interp::Event::QueueResult(outcome));
    }

    /// Whether routing holds the call's contact as connected to `agent` right now.
    pub(super) async fn still_assigned_to(&self, agent: i64) -> bool {
        match self.contact {
            Some(contact) => self.assigned_to(contact, agent).await,
            None => false,
        }
    }

    /// Whether routing holds `contact` as connected to `agent` right now.
    pub(super) async fn assigned_to(&self, contact: i64, agent: i64) -> bool {
        self.shared
            .deps
            .routing
            .contact_state(self.tenant, contact)
            .await
            .is_ok_and(|s| s.status == "connected" && s.agent_id == Some(agent))
    }

    /// The waiting caller leaves the queue (`abandoned`: their doing; else lost), also when
    /// an auto-assigned agent's phone is still ringing (see `RoutingService::leave_unconnected`).
    pub(super) async fn leave_routing(&self, contact: i64, abandoned: bool) {
        if let Err(e) = self
            .shared
            .deps
            .routing
            .leave_unconnected(self.tenant, contact, abandoned)
            .await
        {
            tracing::debug!(call.id = self.call_id, error = %e, "contact already gone from routing");
        }
    }

    pub(super) fn clear_queue_timers(&mut self) {
        for t in [Timer::QueueMaxWait, Timer::Announce, Timer::CallbackOffer] {
            self.timers.remove(&t);
        }
    }

    /// The caller accepted the callback: the contact keeps its place, marked as a callback,
    /// and the flow says goodbye. The call is then answered by calling the agent first.
    pub(super) async fn accept_callback(&mut self) {
        let Some(q) = self.queued.clone() else { return };
        let number = q
            .request
            .callback
            .as_ref()
            .map(|c| c.number.clone())
            .unwrap_or_else(|| self.caller.clone());
        self.timers.remove(&Timer::CallbackOffer);
        self.timers.remove(&Timer::Announce);
        self.timers.remove(&Timer::QueueMaxWait);
        let store = self.shared.deps.store.clone();
        if let Err(e) = store::routed_contacts::mark_callback(&store, self.tenant, q.contact).await
        {
            tracing::warn!(call.id = self.call_id, error = %e, "callback flag not stored");
        }
        self.event(
            "callback_accepted",
            json!({"contact_id": q.contact, "number": mask_number(&number)}),
        )
        .await;
        self.callback = Some(number);
        self.callback_tries = CallbackTries::from_flow(
            q.request.callback.as_ref().and_then(|c| c.max_attempts),
            q.request.callback.as_ref().and_then(|c| c.retry_delay_ms),
        );
        self.stop_side_playbacks().await;
        // Out of the lobby, to hear the flow's confirmation.
        if let Err(e) = self
            .client()
            .remove_channels(&q.holding, &[&self.channel])
            .await
            && !e.is_not_found()
        {
            self.rest_failed("leave holding bridge", &e).await;
        }
        self.stage = Stage::Ivr;
        self.feed(interp::Event::QueueResult(QueueOutcome::CallbackAccepted));
    }

    /// The standalone `callback` node: the contact joins the queue without the caller on
    /// the line (from `not_before` on), and this task stays to call back when an agent takes
    /// it, exactly as for a callback accepted while waiting.
    pub(super) async fn register_callback(
        &mut self,
        queue_name: &str,
        number: &str,
        not_before: Option<chrono::DateTime<Utc>>,
    ) -> bool {
        let store = self.shared.deps.store.clone();
        let Ok(queues) = store::queues::list_queues(&store, self.tenant).await else {
            return false;
        };
        let Some(queue) = queues.into_iter().find(|q| q.name == queue_name) else {
            return false;
        };
        let stored = store::routed_contacts::insert_for_call(
            &store,
            self.tenant,
            self.call_id,
            store::routed_contacts::NewRoutedContact {
                queue_id: queue.id,
                medium: "voice",
                channel: "callback",
                priority: engine_priority(5),
                required_skills: "{}",
                enqueued_at: Utc::now(),
                callback: true,
            },
        )
        .await;
        let Ok(stored) = stored else { return false };
        self.shared
            .claim_contact(self.tenant, stored.id, &self.wiring.key);
        self.contact = Some(stored.id);
        self.callback = Some(number.to_owned());
        self.queued = Some(Queued {
            contact: stored.id,
            queue_id: queue.id,
            request: plain_request(queue_name),
            record: queue
                .settings
                .get("record_calls")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            holding: String::new(),
        });
        self.event(
            "callback_registered",
            json!({"contact_id": stored.id, "queue": queue_name, "number": mask_number(number), "not_before": not_before}),
        )
        .await;
        let wait = not_before
            .map(|t| (t - Utc::now()).num_milliseconds())
            .filter(|ms| *ms > 0);
        match wait {
            // Joins the queue at opening time; until then nobody is offered it.
            Some(ms) => {
                self.timers.insert(
                    Timer::CallbackDue,
                    Instant::now() + Duration::from_millis(ms as u64),
                );
                true
            }
            None => self.release_callback().await,
        }
    }

    /// The customer did not answer a callback and attempts are left: the agent is let go
    /// (wrap-up as after any call) and the callback queues again, offered once the retry
    /// delay has passed.
    pub(super) async fn retry_callback(&mut self) -> bool {
        let (Some(q), Some(number)) = (self.queued.clone(), self.callback.clone()) else {
            return false;
        };
        // The agent's ringback.
        self.stop_side_playbacks().await;
        self.finish_connected().await;
        self.agent = None;
        self.stage = Stage::Callback;
        let due =
            Utc::now() + chrono::Duration::from_std(self.callback_tries.apart).unwrap_or_default();
        self.register_callback(&q.request.queue, &number, Some(due))
            .await
    }

    /// Puts a registered callback in front of agents.
    pub(super) async fn release_callback(&mut self) -> bool {
        let Some(contact) = self.contact else {
            return false;
        };
        let store = self.shared.deps.store.clone();
        let stored =
            match store::routed_contacts::find_routed_contact(&store, self.tenant, contact).await {
                Ok(Some(s)) => s,
                _ => return false,
            };
        self.shared
            .deps
            .routing
            .enqueue_stored(self.tenant, &stored)
            .await
            .is_ok()
    }

    pub(super) async fn on_routing(&mut self, command: Command) {
        match command {
            Command::Offer {
                contact,
                agents,
                deadline,
            } if Some(contact.0 as i64) == self.contact => {
                for agent in agents {
                    self.ring_agent(agent.0 as i64, deadline.0).await;
                }
            }
            Command::WithdrawOffers { agents, .. } => {
                let agents: HashSet<i64> = agents.iter().map(|a| a.0 as i64).collect();
                let legs: Vec<String> = self
                    .legs
                    .iter()
                    .filter(|(_, l)| {
                        !l.answered
                            && !l.dropped
                            && matches!(l.kind, LegKind::Offer { agent } if agents.contains(&agent))
                    })
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in legs {
                    let cause = if self.agent.is_some() {
                        Cause::AnsweredElsewhere
                    } else {
                        Cause::NoAnswer
                    };
                    self.drop_leg(&id, cause).await;
                }
            }
            Command::Assigned { agent, .. } => {
                let agent = agent.0 as i64;
                if self.agent == Some(agent) {
                    return;
                }
                let answered = self
                    .legs
                    .iter()
                    .find(|(_, l)| l.answered && !l.dropped && l.kind == LegKind::Offer { agent })
                    .map(|(id, _)| id.clone());
                match answered {
                    Some(leg) => self.connect(agent, leg).await,
                    // An auto-assigning queue connects without an offer: ring the agent now.
                    // Unless the news is stale: an assignment already undone (Asterisk would
                    // not bridge the agent who answered) must not ring that agent again.
                    None if self.agent.is_none() && self.still_assigned_to(agent).await => {
                        let deadline = Utc::now().timestamp_millis() + 30_000;
                        self.ring_agent(agent, deadline).await;
                    }
                    None => {}
                }
            }
            Command::AnnouncePosition {
                position, ewt_secs, ..
            } => {
                // A flow that sets its own rhythm wins over the queue's.
                let own = self
                    .queued
                    .as_ref()
                    .is_some_and(|q| q.request.announce_position_every_ms.is_some());
                if !own {
                    self.announce_position(Some((position, ewt_secs))).await;
                }
            }
            Command::Overflow {
                target,
                reason,
                keeps_waiting,
                ..
            } => {
                self.event(
                    "overflow",
                    json!({"target": target, "reason": reason, "keeps_waiting": keeps_waiting}),
                )
                .await;
                match target {
                    // The engine moved the contact; the caller keeps waiting where they are.
                    crate::routing::OverflowTarget::Queue { queue } => {
                        if let Some(q) = &mut self.queued {
                            q.queue_id = queue.0 as i64;
                        }
                    }
                    _ if keeps_waiting => {}
                    _ => self.contact_left_routing(reason).await,
                }
            }
            Command::Rejected { reason, .. } => {
                self.event("rejected", json!({"reason": reason})).await;
                self.contact_left_routing(reason).await;
            }
            _ => {}
        }
    }

    /// Routing ended the contact (overflow out, rejection): the flow takes over.
    pub(super) async fn contact_left_routing(&mut self, reason: OverflowReason) {
        let outcome = match reason {
            OverflowReason::MaxWait => QueueOutcome::MaxWait,
            OverflowReason::Full => QueueOutcome::Full,
            _ => QueueOutcome::NoAgents,
        };
        if let Some(q) = &self.queued {
            // The engine already forgot it; nothing to withdraw.
            self.shared.release_contact(self.tenant, q.contact);
        }
        self.leave_queue(outcome, "routing").await;
    }
}
