//! Queue and agent options: ordering, skills, capacity, offer timeout and retry,
//! autopause, wrap-up, overflow (max wait, full, closed), join/leave empty, weights,
//! position and statistics, restart, withdrawals and removals.

use super::*;

#[test]
fn higher_priority_goes_first_and_equal_priority_is_fifo_by_original_enqueue_time() {
    let mut h = Harness::new();
    h.agent(1, &[]);
    h.queue(queue(10, Strategy::RingAll, &[(1, 0)]));
    h.serve(contact(1, 10, h.t));
    h.enqueue(contact(100, 10, h.t - 5));
    h.enqueue(contact(101, 10, h.t - 50)); // moved here by overflow: keeps its older time
    h.enqueue(NewContact {
        priority: 5,
        ..contact(102, 10, h.t)
    });
    let order: Vec<u32> = [102, 101, 100]
        .iter()
        .map(|&c| h.e.position(ContactId(c)).expect("waiting").position)
        .collect();
    assert_eq!(order, vec![1, 2, 3]);
    assert_eq!(offered(&h.end(1), 102), vec![1]);
}

#[test]
fn a_contact_needing_a_skill_nobody_free_has_does_not_block_the_contacts_behind_it() {
    let mut h = Harness::new();
    h.agent(1, &[("en", 5)]);
    h.queue(queue(10, Strategy::RingAll, &[(1, 0)]));
    let head = with_skill(contact(100, 10, h.t - 60), "de", 1);
    assert!(offered(&h.enqueue(head), 100).is_empty());
    let weak = with_skill(contact(101, 10, h.t - 30), "en", 6);
    assert!(
        offered(&h.enqueue(weak), 101).is_empty(),
        "level 5 < minimum 6"
    );
    let cmds = h.enqueue(with_skill(contact(102, 10, h.t), "en", 5));
    assert_eq!(offered(&cmds, 102), vec![1]);
}

#[test]
fn capacity_is_per_medium_and_block_chats_during_call_stops_chat_offers_on_a_call() {
    let mut h = Harness::new();
    h.agent(1, &[]);
    h.queue(queue(10, Strategy::RingAll, &[(1, 0)]));
    h.serve(contact(100, 10, h.t));
    // On a call, the blended agent still takes up to three chats.
    for c in 0..3 {
        assert_eq!(h.serve(chat(200 + c, 10, h.t)), Some(1));
    }
    assert_eq!(h.serve(chat(203, 10, h.t)), None, "chat capacity 3 reached");
    h.end(200);
    assert_eq!(
        offered(&h.send(Event::Tick), 203),
        Vec::<u64>::new(),
        "already offered on end"
    );
    assert_eq!(
        h.e.contact(ContactId(203)),
        Some(ContactView::Offered { queue: QueueId(10) })
    );

    let mut h = Harness::new();
    let mut cfg = AgentConfig::new(AgentId(1));
    cfg.block_chats_during_call = true;
    h.send(Event::AgentAdded {
        agent: cfg,
        presence: Presence::Available,
    });
    h.queue(queue(10, Strategy::RingAll, &[(1, 0)]));
    h.serve(contact(100, 10, h.t));
    assert!(offered(&h.enqueue(chat(200, 10, h.t)), 200).is_empty());
    assert_eq!(offered(&h.end(100), 200), vec![1]);
}

#[test]
fn an_unanswered_offer_expires_and_goes_to_the_next_agent_then_back_after_the_retry_window() {
    let mut h = Harness::new();
    for a in 1..=2 {
        h.agent(a, &[]);
    }
    let mut q = queue(10, Strategy::Linear, &[(1, 0), (2, 0)]);
    q.offer_timeout_secs = 10;
    q.retry_secs = 30;
    h.queue(q);
    h.enqueue(contact(100, 10, h.t));
    assert_eq!(h.e.next_deadline(), Some(h.now().plus_secs(10)));
    assert!(h.advance(9).is_empty());
    let cmds = h.advance(1);
    assert!(has(
        &cmds,
        &Command::WithdrawOffers {
            contact: ContactId(100),
            agents: vec![AgentId(1)]
        }
    ));
    assert_eq!(offered(&cmds, 100), vec![2]);
    // Agent 2 misses too: nobody left inside the retry window.
    assert!(offered(&h.advance(10), 100).is_empty());
    // 30 s after agent 1 missed it, agent 1 may get it again.
    assert!(offered(&h.advance(19), 100).is_empty());
    assert_eq!(offered(&h.advance(1), 100), vec![1]);
}

#[test]
fn an_agent_missing_n_offers_in_a_row_is_paused_and_a_success_resets_the_count() {
    let mut h = Harness::new();
    h.agent(1, &[]);
    let mut q = queue(10, Strategy::RingAll, &[(1, 0)]);
    q.autopause_after = Some(2);
    q.retry_secs = 0;
    h.queue(q);
    h.enqueue(contact(100, 10, h.t));
    h.advance(15); // miss 1
    assert_eq!(offered(&h.advance(1), 100), vec![1]); // retry 0: a second later
    h.accept(100, 1);
    h.end(100);
    h.enqueue(contact(101, 10, h.t));
    h.advance(15); // miss 1 again (reset by the accept)
    h.advance(1);
    let cmds = h.advance(15); // miss 2
    assert!(has(&cmds, &Command::AgentAutoPaused { agent: AgentId(1) }));
    let stats = h.e.queue_stats(QueueId(10)).expect("queue");
    assert_eq!(stats.agents.away, 1);
    h.advance(1);
    assert_eq!(offered(&h.presence(1, Presence::Available), 101), vec![1]);
}

#[test]
fn with_no_retry_time_an_agent_who_could_not_take_a_contact_gets_it_again_a_second_later_not_at_once()
 {
    // A busy phone declines in milliseconds; without a floor a queue with `retry_secs: 0`
    // would ring that phone again at once, in a loop, while the caller waits.
    let mut h = Harness::new();
    h.agent(1, &[]);
    let mut q = queue(10, Strategy::RingAll, &[(1, 0)]);
    q.retry_secs = 0;
    h.queue(q);
    h.enqueue(contact(100, 10, h.t));
    assert!(offered(&h.decline(100, 1), 100).is_empty());
    assert_eq!(h.e.next_deadline(), Some(h.now().plus_secs(1)));
    assert_eq!(offered(&h.advance(1), 100), vec![1]);
}

#[test]
fn a_declined_contact_is_offered_to_the_next_agent_and_not_back_within_the_retry_window() {
    let mut h = Harness::new();
    for a in 1..=2 {
        h.agent(a, &[]);
    }
    h.queue(queue(10, Strategy::RoundRobinOrdered, &[(1, 0), (2, 0)]));
    h.enqueue(contact(100, 10, h.t));
    assert_eq!(offered(&h.decline(100, 1), 100), vec![2]);
    assert!(offered(&h.decline(100, 2), 100).is_empty());
    assert_eq!(offered(&h.advance(5), 100).len(), 1);
}

#[test]
fn wrap_up_keeps_an_agent_out_for_the_queue_seconds_or_its_member_override() {
    let mut h = Harness::new();
    for a in 1..=2 {
        h.agent(a, &[]);
    }
    let mut q = queue(10, Strategy::RingAll, &[(1, 0), (2, 0)]);
    q.wrapup_secs = 30;
    q.members[1].wrapup_secs = Some(5);
    h.queue(q);
    h.enqueue(contact(100, 10, h.t));
    h.accept(100, 1);
    h.enqueue(contact(101, 10, h.t));
    h.accept(101, 2);
    h.end(100);
    h.end(101);
    h.enqueue(contact(102, 10, h.t));
    assert_eq!(h.e.queue_stats(QueueId(10)).expect("q").agents.wrapup, 2);
    assert_eq!(offered(&h.advance(5), 102), vec![2]);
    h.accept(102, 2);
    h.enqueue(contact(103, 10, h.t));
    assert!(offered(&h.advance(24), 103).is_empty());
    assert_eq!(offered(&h.advance(1), 103), vec![1]);
}

#[test]
fn max_wait_moves_the_contact_to_the_overflow_queue_keeping_its_original_time() {
    let mut h = Harness::new();
    h.agent(1, &[]);
    h.agent(2, &[]);
    let mut q = queue(10, Strategy::RingAll, &[(1, 0)]);
    q.max_wait_secs = Some(60);
    q.overflow = Some(OverflowTarget::Queue { queue: QueueId(11) });
    h.queue(q);
    h.queue(queue(11, Strategy::RingAll, &[]));
    h.serve(contact(1, 10, h.t));
    h.enqueue(contact(100, 10, h.t - 500));
    let cmds = h.advance(60);
    assert_eq!(
        cmds[0],
        Command::Overflow {
            contact: ContactId(100),
            target: OverflowTarget::Queue { queue: QueueId(11) },
            reason: OverflowReason::MaxWait,
            keeps_waiting: false,
        }
    );
    assert_eq!(
        h.e.contact(ContactId(100)),
        Some(ContactView::Waiting { queue: QueueId(11) })
    );
    h.enqueue(contact(101, 11, h.t - 10));
    assert_eq!(h.e.position(ContactId(100)).expect("waiting").position, 1);
    h.queue(queue(11, Strategy::RingAll, &[(2, 0)]));
    assert_eq!(
        h.e.contact(ContactId(100)),
        Some(ContactView::Offered { queue: QueueId(11) })
    );
}

#[test]
fn max_wait_without_a_target_rejects_and_with_a_message_target_keeps_the_chat_waiting() {
    let mut h = Harness::new();
    let mut q = queue(10, Strategy::RingAll, &[]);
    q.max_wait_secs = Some(30);
    h.queue(q.clone());
    h.enqueue(contact(100, 10, h.t));
    let cmds = h.advance(30);
    assert_eq!(
        cmds,
        vec![Command::Rejected {
            contact: ContactId(100),
            reason: OverflowReason::MaxWait
        }]
    );
    assert_eq!(h.e.contact(ContactId(100)), None);

    let text = OverflowTarget::Message {
        text: "We are busy, we will answer soon".into(),
    };
    q.overflow = Some(text.clone());
    h.queue(q);
    h.enqueue(chat(200, 10, h.t));
    let cmds = h.advance(30);
    assert!(has(
        &cmds,
        &Command::Overflow {
            contact: ContactId(200),
            target: text,
            reason: OverflowReason::MaxWait,
            keeps_waiting: true,
        }
    ));
    assert!(h.advance(60).is_empty(), "told once");
    assert!(h.e.contact(ContactId(200)).is_some());
}

#[test]
fn a_full_queue_sends_arrivals_to_voicemail() {
    let mut h = Harness::new();
    let mut q = queue(10, Strategy::RingAll, &[]);
    q.max_len = Some(1);
    q.overflow = Some(OverflowTarget::Voicemail {
        mailbox: "sales".into(),
    });
    h.queue(q);
    assert!(h.enqueue(contact(100, 10, h.t)).is_empty());
    let cmds = h.enqueue(contact(101, 10, h.t));
    assert_eq!(
        cmds,
        vec![Command::Overflow {
            contact: ContactId(101),
            target: OverflowTarget::Voicemail {
                mailbox: "sales".into()
            },
            reason: OverflowReason::Full,
            keeps_waiting: false,
        }]
    );
    assert_eq!(h.e.queue_stats(QueueId(10)).expect("q").overflowed, 1);
}

#[test]
fn a_closed_queue_overflows_arrivals_but_keeps_serving_those_already_waiting() {
    let mut h = Harness::new();
    h.agent(1, &[]);
    let mut q = queue(10, Strategy::RingAll, &[(1, 0)]);
    q.overflow = Some(OverflowTarget::IvrNode {
        node: "after_hours".into(),
    });
    h.queue(q);
    h.serve(contact(1, 10, h.t));
    h.enqueue(contact(100, 10, h.t));
    h.send(Event::QueueOpenChanged {
        queue: QueueId(10),
        open: false,
    });
    let cmds = h.enqueue(contact(101, 10, h.t));
    assert!(matches!(
        &cmds[..],
        [Command::Overflow {
            reason: OverflowReason::Closed,
            ..
        }]
    ));
    assert_eq!(offered(&h.end(1), 100), vec![1]);
}

#[test]
fn join_empty_refuses_a_contact_when_every_member_is_paused_or_offline() {
    let mut h = Harness::new();
    h.agent(1, &[]);
    h.agent(2, &[]);
    let mut q = queue(10, Strategy::RingAll, &[(1, 0), (2, 0)]);
    q.join_empty = vec![MemberCondition::Paused, MemberCondition::Unavailable];
    h.queue(q);
    h.presence(
        1,
        Presence::Away {
            reason: "lunch".into(),
        },
    );
    h.presence(2, Presence::Offline);
    let cmds = h.enqueue(contact(100, 10, h.t));
    assert_eq!(
        cmds,
        vec![Command::Rejected {
            contact: ContactId(100),
            reason: OverflowReason::JoinEmpty
        }]
    );
    h.presence(2, Presence::Available);
    assert_eq!(offered(&h.enqueue(contact(101, 10, h.t)), 101), vec![2]);
}

#[test]
fn leave_empty_removes_waiting_contacts_on_tick_once_every_member_is_gone() {
    let mut h = Harness::new();
    h.agent(1, &[]);
    let mut q = queue(10, Strategy::RingAll, &[(1, 0)]);
    q.leave_empty = vec![MemberCondition::Unavailable];
    h.queue(q);
    h.serve(contact(1, 10, h.t));
    h.enqueue(contact(100, 10, h.t));
    assert!(h.advance(1).is_empty(), "busy is not unavailable");
    h.presence(1, Presence::Offline);
    let cmds = h.advance(1);
    assert_eq!(
        cmds,
        vec![Command::Rejected {
            contact: ContactId(100),
            reason: OverflowReason::LeaveEmpty
        }]
    );
}

#[test]
fn an_agent_in_two_queues_serves_the_longest_wait_scaled_by_queue_weight() {
    let mut h = Harness::new();
    h.agent(1, &[]);
    h.queue(queue(10, Strategy::RingAll, &[(1, 0)]));
    let mut heavy = queue(11, Strategy::RingAll, &[(1, 0)]);
    heavy.weight = 3;
    h.queue(heavy);
    h.serve(contact(1, 10, h.t));
    h.enqueue(contact(100, 10, h.t - 100)); // waited 100 s, weight 0 → 100
    h.enqueue(contact(101, 11, h.t - 30)); // waited 30 s, weight 3 → 120
    assert_eq!(offered(&h.end(1), 101), vec![1]);
    h.accept(101, 1);
    h.enqueue(contact(102, 11, h.t - 20)); // 20 × 4 = 80 < 100
    assert_eq!(offered(&h.end(101), 100), vec![1]);
}

#[test]
fn position_and_ewt_come_from_the_mean_handle_time_and_agents_serving() {
    let mut h = Harness::new();
    h.agent(1, &[]);
    h.agent(2, &[]);
    let mut q = queue(10, Strategy::RingAll, &[(1, 0), (2, 0)]);
    q.default_handle_secs = 100;
    q.announce_position_secs = Some(30);
    h.queue(q);
    h.serve(contact(1, 10, h.t));
    h.serve(contact(2, 10, h.t));
    h.enqueue(contact(100, 10, h.t));
    h.enqueue(contact(101, 10, h.t));
    let p = h.e.position(ContactId(101)).expect("waiting");
    assert_eq!((p.position, p.ewt_secs), (2, 100)); // 2 × 100 s ÷ 2 agents
    let cmds = h.advance(30);
    assert!(has(
        &cmds,
        &Command::AnnouncePosition {
            contact: ContactId(100),
            position: 1,
            ewt_secs: 50
        }
    ));
    assert!(has(
        &cmds,
        &Command::AnnouncePosition {
            contact: ContactId(101),
            position: 2,
            ewt_secs: 100
        }
    ));
    h.advance(10);
    h.end(1); // handled 40 s: the first sample replaces the default
    assert_eq!(
        h.e.queue_stats(QueueId(10)).expect("q").mean_handle_secs,
        40.0
    );
}

#[test]
fn queue_stats_report_service_level_abandons_and_agent_states() {
    let mut h = Harness::new();
    h.agent(1, &[]);
    h.agent(2, &[]);
    let mut q = queue(10, Strategy::RingAll, &[(1, 0), (2, 0)]);
    q.sl_threshold_secs = 20;
    h.queue(q);
    h.presence(2, Presence::Offline);
    h.serve(contact(100, 10, h.t)); // answered at once
    h.enqueue(contact(101, 10, h.t));
    h.enqueue(contact(102, 10, h.t));
    h.t += 25;
    h.end(100);
    h.accept(101, 1); // answered after 25 s
    h.send(Event::ContactWithdrawn {
        contact: ContactId(102),
    });
    let s = h.e.queue_stats(QueueId(10)).expect("q");
    assert_eq!((s.answered, s.answered_within_sl, s.abandoned), (2, 1, 1));
    assert_eq!(s.service_level, Some(1.0 / 3.0));
    assert_eq!((s.agents.offline, s.agents.busy, s.waiting), (1, 1, 0));
}

#[test]
fn a_snapshot_replayed_into_a_new_engine_restores_order_and_positions() {
    let mut h = Harness::new();
    h.queue(queue(10, Strategy::RingAll, &[]));
    h.enqueue(contact(100, 10, h.t - 10));
    h.enqueue(NewContact {
        priority: 3,
        ..contact(101, 10, h.t)
    });
    h.enqueue(contact(102, 10, h.t - 20));
    let snap = h.e.snapshot();
    let mut r = Harness::new();
    r.t = h.t + 300;
    r.queue(queue(10, Strategy::RingAll, &[]));
    for c in snap.into_iter().rev() {
        r.enqueue(c);
    }
    for (c, pos) in [(101, 1), (102, 2), (100, 3)] {
        assert_eq!(r.e.position(ContactId(c)).expect("restored").position, pos);
    }
    assert_eq!(
        r.e.queue_stats(QueueId(10)).expect("q").longest_wait_secs,
        320
    );
}

#[test]
fn a_connected_contact_resumed_after_restart_counts_against_capacity() {
    let mut h = Harness::new();
    h.agent(1, &[]);
    h.queue(queue(10, Strategy::RingAll, &[(1, 0)]));
    assert!(h.e.resume_connected(contact(100, 10, h.t), AgentId(1), h.now()));
    assert!(offered(&h.enqueue(contact(101, 10, h.t)), 101).is_empty());
    assert_eq!(offered(&h.end(100), 101), vec![1]);
}

#[test]
fn a_resumed_connection_that_fails_keeps_the_days_answered_count() {
    // Its answer was counted before the restart, not by this engine: undoing the connection
    // takes back nothing (another contact's answer stays counted).
    let mut h = Harness::new();
    h.agent(1, &[]);
    h.agent(2, &[]);
    h.queue(queue(10, Strategy::RingAll, &[(1, 0), (2, 0)]));
    h.enqueue(contact(100, 10, h.t));
    h.accept(100, 1);
    assert!(h.e.resume_connected(contact(101, 10, h.t), AgentId(2), h.now()));
    h.send(Event::ConnectFailed {
        contact: ContactId(101),
    });
    let s = h.e.queue_stats(QueueId(10)).expect("q");
    assert_eq!((s.answered, s.answered_within_sl), (1, 1));
    assert_eq!(
        h.e.position(ContactId(101))
            .expect("waiting again")
            .position,
        1
    );
}

#[test]
fn a_caller_hanging_up_while_ringing_withdraws_the_offer_and_counts_as_abandoned() {
    // A contact the platform lost (`ContactLost`) leaves the same way, but is not counted.
    for (lost, abandoned) in [(false, 1), (true, 0)] {
        let mut h = Harness::new();
        h.agent(1, &[]);
        h.queue(queue(10, Strategy::RingAll, &[(1, 0)]));
        h.enqueue(contact(100, 10, h.t));
        let contact_id = ContactId(100);
        let cmds = h.send(if lost {
            Event::ContactLost {
                contact: contact_id,
            }
        } else {
            Event::ContactWithdrawn {
                contact: contact_id,
            }
        });
        assert_eq!(
            cmds,
            vec![Command::WithdrawOffers {
                contact: contact_id,
                agents: vec![AgentId(1)]
            }]
        );
        let s = h.e.queue_stats(QueueId(10)).expect("q");
        assert_eq!((s.abandoned, s.waiting), (abandoned, 0), "lost: {lost}");
        // The agent is free for the next contact at once.
        assert_eq!(offered(&h.enqueue(contact(101, 10, h.t)), 101), vec![1]);
    }
}

#[test]
fn going_away_while_ringing_withdraws_the_offer_and_re_offers_without_a_miss() {
    let mut h = Harness::new();
    h.agent(1, &[]);
    h.agent(2, &[]);
    h.queue(queue(10, Strategy::RoundRobinOrdered, &[(1, 0), (2, 0)]));
    h.enqueue(contact(100, 10, h.t));
    let cmds = h.presence(
        1,
        Presence::Away {
            reason: "break".into(),
        },
    );
    assert!(has(
        &cmds,
        &Command::WithdrawOffers {
            contact: ContactId(100),
            agents: vec![AgentId(1)]
        }
    ));
    assert_eq!(offered(&cmds, 100), vec![2]);
}

#[test]
fn a_removed_agent_loses_its_offer_and_a_removed_queue_rejects_its_waiting_contacts() {
    let mut h = Harness::new();
    h.agent(1, &[]);
    h.queue(queue(10, Strategy::RingAll, &[(1, 0)]));
    h.enqueue(contact(100, 10, h.t));
    let cmds = h.send(Event::AgentRemoved { agent: AgentId(1) });
    assert!(has(
        &cmds,
        &Command::WithdrawOffers {
            contact: ContactId(100),
            agents: vec![AgentId(1)]
        }
    ));
    let cmds = h.send(Event::QueueRemoved { queue: QueueId(10) });
    assert_eq!(
        cmds,
        vec![Command::Rejected {
            contact: ContactId(100),
            reason: OverflowReason::UnknownQueue
        }]
    );
    let cmds = h.enqueue(contact(101, 10, h.t));
    assert_eq!(
        cmds,
        vec![Command::Rejected {
            contact: ContactId(101),
            reason: OverflowReason::UnknownQueue
        }]
    );
}

#[test]
fn overflow_queues_pointing_at_each_other_end_in_a_loop_rejection() {
    let mut h = Harness::new();
    for (id, next) in [(10, 11), (11, 10)] {
        let mut q = queue(id, Strategy::RingAll, &[]);
        q.open = false;
        q.overflow = Some(OverflowTarget::Queue {
            queue: QueueId(next),
        });
        h.queue(q);
    }
    let cmds = h.enqueue(contact(100, 10, h.t));
    assert_eq!(
        cmds.last(),
        Some(&Command::Rejected {
            contact: ContactId(100),
            reason: OverflowReason::OverflowLoop
        })
    );
    assert_eq!(h.e.contact(ContactId(100)), None);
}

#[test]
fn skills_added_to_an_agent_make_it_take_contacts_that_were_waiting_for_them() {
    let mut h = Harness::new();
    h.agent(1, &[]);
    h.queue(queue(10, Strategy::RingAll, &[(1, 0)]));
    assert!(
        h.enqueue(with_skill(contact(100, 10, h.t), "fr", 3))
            .is_empty()
    );
    let mut cfg = AgentConfig::new(AgentId(1));
    cfg.skills.insert("fr".into(), 3);
    assert_eq!(offered(&h.send(Event::AgentUpdated(cfg)), 100), vec![1]);
}

#[test]
fn members_added_by_reconfiguration_are_offered_the_waiting_contacts_in_order() {
    let mut h = Harness::new();
    h.agent(1, &[]);
    h.agent(2, &[]);
    h.queue(queue(10, Strategy::RingAll, &[]));
    h.enqueue(contact(100, 10, h.t - 5));
    h.enqueue(contact(101, 10, h.t));
    let cmds = h.queue(queue(10, Strategy::RoundRobinOrdered, &[(1, 0), (2, 0)]));
    assert_eq!(offered(&cmds, 100), vec![1]);
    assert_eq!(offered(&cmds, 101), vec![2]);
}

#[test]
fn an_auto_assign_queue_connects_the_picked_agent_without_ringing() {
    let mut h = Harness::new();
    h.agent(1, &[]);
    let mut q = queue(10, Strategy::RingAll, &[(1, 0)]);
    q.auto_assign = true;
    h.queue(q);
    let cmds = h.enqueue(chat(100, 10, h.t));
    assert_eq!(
        cmds,
        vec![Command::Assigned {
            contact: ContactId(100),
            agent: AgentId(1)
        }]
    );
    assert_eq!(h.e.queue_stats(QueueId(10)).expect("q").answered, 1);
}

#[test]
fn an_agent_wrap_up_applies_in_every_queue_unless_the_membership_overrides_it() {
    let mut h = Harness::new();
    let mut cfg = AgentConfig::new(AgentId(1));
    cfg.wrapup_secs = Some(10);
    h.send(Event::AgentAdded {
        agent: cfg,
        presence: Presence::Available,
    });
    let mut q = queue(10, Strategy::RingAll, &[(1, 0)]);
    q.wrapup_secs = 60;
    h.queue(q.clone());
    h.serve(contact(100, 10, h.t));
    h.end(100);
    h.enqueue(contact(101, 10, h.t));
    assert!(offered(&h.advance(9), 101).is_empty());
    assert_eq!(
        offered(&h.advance(1), 101),
        vec![1],
        "agent's 10 s, not the queue's 60 s"
    );
    h.accept(101, 1);
    q.members[0].wrapup_secs = Some(2);
    h.queue(q);
    h.end(101);
    h.enqueue(contact(102, 10, h.t));
    assert_eq!(offered(&h.advance(2), 102), vec![1], "the member's 2 s win");
}

#[test]
fn a_long_silence_produces_one_announcement_per_contact_not_one_per_missed_interval() {
    let mut h = Harness::new();
    let mut q = queue(10, Strategy::RingAll, &[]);
    q.announce_position_secs = Some(10);
    h.queue(q);
    h.enqueue(contact(100, 10, h.t));
    let cmds = h.advance(3600);
    assert_eq!(cmds.len(), 1);
    assert_eq!(h.e.next_deadline(), Some(h.now().plus_secs(10)));
}

#[test]
fn a_snapshot_keeps_every_field_of_a_waiting_contact() {
    let mut h = Harness::new();
    h.queue(queue(10, Strategy::RingAll, &[]));
    let mut c = with_skill(chat(100, 10, h.t - 30), "es", 4);
    c.priority = 7;
    c.callback = true;
    c.tenant = TenantId(9);
    h.enqueue(c.clone());
    let snap = h.e.snapshot();
    c.joined_at = Some(h.now());
    assert_eq!(snap, vec![c]);
}

#[test]
fn a_connection_that_fails_puts_the_contact_back_in_its_place_and_tries_the_next_agent() {
    let mut h = Harness::new();
    h.agent(1, &[]);
    h.agent(2, &[]);
    let mut q = queue(10, Strategy::Linear, &[(1, 0), (2, 0)]);
    q.wrapup_secs = 30;
    h.queue(q);
    // Agent 2 is away, so 100 goes to agent 1, and 101 waits behind it.
    h.presence(
        2,
        Presence::Away {
            reason: "break".into(),
        },
    );
    assert_eq!(offered(&h.enqueue(contact(100, 10, h.t - 5)), 100), vec![1]);
    h.accept(100, 1);
    h.enqueue(contact(101, 10, h.t));
    let before = h.e.queue_stats(QueueId(10)).expect("q");
    assert_eq!(
        (before.answered, before.answered_within_sl, before.waiting),
        (1, 1, 1)
    );

    let cmds = h.send(Event::ConnectFailed {
        contact: ContactId(100),
    });
    // Agent 1 is free at once (no wrap-up: there was no conversation), but is passed over
    // for this contact; with nobody else free, the contact waits, first in line again.
    assert!(offered(&cmds, 100).is_empty(), "{cmds:?}");
    assert_eq!(offered(&cmds, 101), vec![1]);
    let stats = h.e.queue_stats(QueueId(10)).expect("q");
    assert_eq!(
        (
            stats.answered,
            stats.answered_within_sl,
            stats.waiting,
            stats.abandoned
        ),
        (0, 0, 2, 0)
    );
    assert_eq!(h.e.position(ContactId(100)).expect("waiting").position, 1);
    assert_eq!(
        h.e.contact(ContactId(100)),
        Some(ContactView::Waiting { queue: QueueId(10) })
    );
    // The next free agent gets it.
    h.decline(101, 1);
    let cmds = h.presence(2, Presence::Available);
    assert_eq!(offered(&cmds, 100), vec![2]);
    // An event for a contact that is not connected changes nothing.
    assert!(
        h.send(Event::ConnectFailed {
            contact: ContactId(101),
        })
        .is_empty()
    );
}

#[test]
fn after_a_failed_connection_the_same_agent_is_tried_again_once_the_retry_time_passes() {
    let mut h = Harness::new();
    h.agent(1, &[]);
    let mut q = queue(10, Strategy::RingAll, &[(1, 0)]);
    q.retry_secs = 5;
    h.queue(q);
    h.enqueue(contact(100, 10, h.t));
    h.accept(100, 1);
    let cmds = h.send(Event::ConnectFailed {
        contact: ContactId(100),
    });
    assert!(offered(&cmds, 100).is_empty());
    assert_eq!(h.e.agent_state(AgentId(1)).unwrap().state, "available");
    assert_eq!(offered(&h.advance(6), 100), vec![1]);
}

#[test]
fn a_customer_leaving_before_an_assigned_agent_answered_is_abandoned_and_given_to_nobody_else() {
    for abandoned in [true, false] {
        let mut h = Harness::new();
        h.agent(1, &[]);
        h.agent(2, &[]);
        let mut q = queue(10, Strategy::Linear, &[(1, 0), (2, 0)]);
        q.auto_assign = true;
        q.wrapup_secs = 30;
        h.queue(q);
        let cmds = h.enqueue(contact(100, 10, h.t));
        assert!(has(
            &cmds,
            &Command::Assigned {
                contact: ContactId(100),
                agent: AgentId(1)
            }
        ));
        let cmds = h.send(Event::UnconnectedLeft {
            contact: ContactId(100),
            abandoned,
        });
        // Not handed to agent 2 on its way out, and gone.
        assert!(cmds.is_empty(), "{cmds:?}");
        assert_eq!(h.e.contact(ContactId(100)), None);
        let stats = h.e.queue_stats(QueueId(10)).expect("q");
        assert_eq!(
            (stats.answered, stats.abandoned, stats.waiting),
            (0, u64::from(abandoned), 0)
        );
        // Agent 1 never talked to anyone: no wrap-up.
        assert_eq!(h.e.agent_state(AgentId(1)).unwrap().state, "available");
    }
}
