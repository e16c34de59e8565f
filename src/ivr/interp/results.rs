//! Results of the actions that leave the IVR for a while: transfer, queue, directory and
//! AI agent.

use chrono::{DateTime, Utc};

use super::nodes::DEFAULT_RING_MS;
use super::session::{Leave, Wait};
use super::*;
use crate::ivr::catalog::Catalog;
use crate::ivr::model::*;

impl Session {
    pub(super) fn on_playback(
        &mut self,
        cat: &Catalog,
        id: PlaybackId,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        match &self.wait {
            Wait::Say { playback, next, .. } if *playback == id => {
                let next = next.clone();
                self.leave(cat, now, out, Leave::exit("next"), Some(next));
            }
            Wait::Goodbye { playback, reason } if *playback == id => {
                out.push(Action::Hangup { reason: *reason });
                self.wait = Wait::Done;
            }
            Wait::Input(_) => self.input_playback_done(cat, id, out),
            Wait::Http(p) if p.filler_playback == Some(id) => {
                if let Wait::Http(p) = &mut self.wait {
                    p.filler_playback = None;
                }
            }
            _ => {}
        }
    }

    pub(super) fn on_dtmf(
        &mut self,
        cat: &Catalog,
        digit: char,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        match &self.wait {
            Wait::Say {
                playback,
                interruptible: true,
                next,
            } => {
                let (playback, next) = (*playback, next.clone());
                out.push(Action::StopPlayback { id: playback });
                self.buffer.push(digit);
                self.leave(
                    cat,
                    now,
                    out,
                    Leave::exit("next").detail("interrupted"),
                    Some(next),
                );
            }
            Wait::Input(_) => self.input_digit(cat, digit, now, out),
            _ => {}
        }
    }

    pub(super) fn on_timer(
        &mut self,
        cat: &Catalog,
        id: TimerId,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        match &self.wait {
            Wait::Input(i) if i.timer == Some(id) => self.input_timeout(cat, now, out),
            Wait::Http(p) if p.filler_timer == Some(id) => self.http_filler(cat, out),
            _ => {}
        }
    }

    pub(super) fn on_transfer(
        &mut self,
        cat: &Catalog,
        r: TransferOutcome,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        if self.wait == Wait::Failover {
            if r == TransferOutcome::Answered {
                self.finish(out);
            } else {
                // The failover is spent: the apology and hang-up.
                self.go(cat, Some("@apology".into()), now, out);
            }
            return;
        }
        let Wait::Transfer { direct } = self.wait else {
            return;
        };
        if r == TransferOutcome::Answered {
            if !direct {
                self.record(cat, now, out, Leave::exit("answered"));
            }
            self.finish(out);
            return;
        }
        let exit = match r {
            TransferOutcome::NoAnswer => "on_no_answer",
            TransferOutcome::Busy => "on_busy",
            _ => "on_failure",
        };
        let target = match (direct, self.node(cat).map(|n| &n.kind)) {
            (false, Some(NodeKind::Transfer(t))) => match r {
                TransferOutcome::NoAnswer => t.on_no_answer.clone(),
                TransferOutcome::Busy => t.on_busy.clone(),
                _ => t.on_failure.clone(),
            },
            _ => None,
        };
        if direct {
            self.go(cat, target, now, out);
        } else {
            self.leave(cat, now, out, Leave::exit(exit), target);
        }
    }

    pub(super) fn on_queue(
        &mut self,
        cat: &Catalog,
        r: QueueOutcome,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        if self.wait != Wait::Queue {
            return;
        }
        let Some(NodeKind::Queue(q)) = self.node(cat).map(|n| &n.kind) else {
            return;
        };
        let (exit, target) = match r {
            QueueOutcome::Connected => {
                self.record(cat, now, out, Leave::exit("connected"));
                self.finish(out);
                return;
            }
            QueueOutcome::MaxWait => ("on_max_wait".to_owned(), q.on_max_wait.clone()),
            QueueOutcome::NoAgents => ("on_no_agents".to_owned(), q.on_no_agents.clone()),
            QueueOutcome::Full => ("on_full".to_owned(), q.on_full.clone()),
            QueueOutcome::ExitKey(k) => (
                format!("exit_keys.{k}"),
                q.exit_keys.get(&k.to_string()).cloned(),
            ),
            QueueOutcome::CallbackAccepted => (
                "callback.next".to_owned(),
                Some(
                    q.callback
                        .as_ref()
                        .and_then(|c| c.next.clone())
                        .unwrap_or_else(|| "@hangup".into()),
                ),
            ),
        };
        self.leave(cat, now, out, Leave::exit(exit), target);
    }

    pub(super) fn on_directory(
        &mut self,
        cat: &Catalog,
        r: DirectoryOutcome,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        if self.wait != Wait::Directory {
            return;
        }
        let node = self.node(cat).map(|n| &n.kind);
        if let (Some(NodeKind::Menu(_)), false) = (node, matches!(r, DirectoryOutcome::Selected(_)))
        {
            // Opened with a menu's directory_key: back to the menu, or on_error for the operator.
            let target = match r {
                DirectoryOutcome::Operator => None,
                _ => Some(self.frame().node.clone()),
            };
            self.go(cat, target, now, out);
            return;
        }
        let (exit, target) = match r {
            DirectoryOutcome::Selected(extension) => {
                if let Some(NodeKind::Directory(_)) = node {
                    let leave = Leave::exit("selected").detail(extension.clone());
                    self.record(cat, now, out, leave);
                }
                out.push(Action::Transfer(TransferRequest {
                    to: Destination::Extension(extension),
                    caller_id: self.caller.clone(),
                    ring_timeout_ms: DEFAULT_RING_MS,
                    whisper: Vec::new(),
                }));
                self.wait = Wait::Transfer { direct: true };
                return;
            }
            r => {
                let Some(NodeKind::Directory(d)) = node else {
                    return;
                };
                match r {
                    DirectoryOutcome::NotFound => ("on_not_found", d.on_not_found.clone()),
                    DirectoryOutcome::Exit => ("on_exit", d.on_exit.clone()),
                    _ => ("on_operator", d.on_operator.clone()),
                }
            }
        };
        self.leave(cat, now, out, Leave::exit(exit), target);
    }

    pub(super) fn on_ai(
        &mut self,
        cat: &Catalog,
        r: AiOutcome,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        if self.wait != Wait::Ai {
            return;
        }
        let Some(NodeKind::AiAgent(a)) = self.node(cat).map(|n| &n.kind) else {
            return;
        };
        let (leave, target) = match r {
            AiOutcome::Handoff(reason) => {
                let target = match &a.on_handoff {
                    Some(Handoff::Target(t)) => Some(t.clone()),
                    Some(Handoff::ByReason(map)) => {
                        map.get(&reason).or_else(|| map.get("default")).cloned()
                    }
                    None => None,
                };
                (
                    Leave::exit("on_handoff").detail(reason),
                    target.or_else(|| a.on_error.clone()),
                )
            }
            AiOutcome::Done => (
                Leave::exit("on_done"),
                Some(a.on_done.clone().unwrap_or_else(|| "@hangup".into())),
            ),
            AiOutcome::Error => (Leave::exit("on_error"), a.on_error.clone()),
        };
        self.leave(cat, now, out, leave, target);
    }
}
