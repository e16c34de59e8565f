//! Drives the interpreter through Example 1 (`ivr-flows/`) and small purpose-made flows.

mod guards;
mod support_line;

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::ivr::catalog::Catalog;
use crate::ivr::{SourceFile, Sources, compile, load_dir};

/// Monday 2026-12-07 10:00 in Los Angeles: support hours are open.
const OPEN: &str = "2026-12-07T18:00:00Z";
/// Sunday 2026-12-06 22:00 in Los Angeles: closed.
const SUNDAY_NIGHT: &str = "2026-12-07T06:00:00Z";
/// Christmas Day 2026 (a Friday) 10:00 in Los Angeles.
const CHRISTMAS: &str = "2026-12-25T18:00:00Z";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn shipped() -> Catalog {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ivr-flows");
    let sources = load_dir(&dir).unwrap();
    let (catalog, report) = compile(&sources, at(OPEN));
    assert!(report.valid, "{:#?}", report.errors);
    catalog.unwrap()
}

/// A catalog of one flow file (plus a voices file), for guard tests.
fn single(id: &str, yaml: &str) -> Catalog {
    let sources = Sources {
        flows: vec![SourceFile {
            path: format!("ivr-flows/flows/{id}.yaml"),
            text: yaml.to_owned(),
        }],
        ..Sources::default()
    };
    let (catalog, report) = compile(&sources, at(OPEN));
    assert!(report.valid, "{:#?}", report.errors);
    catalog.unwrap()
}

fn config() -> SessionConfig {
    SessionConfig {
        http_allow_hosts: vec!["crm.acme.example".into(), "orders.acme.example".into()],
        ..SessionConfig::default()
    }
}

/// One simulated call: the session, the clock, and every action so far.
struct Call {
    cat: Catalog,
    session: Session,
    now: DateTime<Utc>,
    log: Vec<Action>,
    /// Timers started and not yet cancelled or fired, oldest first.
    timers: Vec<(TimerId, u64)>,
    playing: Option<PlaybackId>,
}

impl Call {
    fn new(cat: Catalog, config: SessionConfig, when: &str) -> Call {
        Call {
            cat,
            session: Session::new(config),
            now: at(when),
            log: Vec::new(),
            timers: Vec::new(),
            playing: None,
        }
    }

    /// Example 1 on the main DID at `when`.
    fn support(when: &str) -> (Call, Vec<Action>) {
        let mut call = Call::new(shipped(), config(), when);
        let first = call.start(None, "+14155550100");
        (call, first)
    }

    fn start(&mut self, flow: Option<&str>, did: &str) -> Vec<Action> {
        self.send(Event::Started {
            flow: flow.map(str::to_owned),
            did: did.into(),
            caller: "+14155551234".into(),
            channel: "voice".into(),
            vars: BTreeMap::new(),
        })
    }

    fn send(&mut self, event: Event) -> Vec<Action> {
        let actions = self.session.handle(&self.cat, event, self.now);
        for a in &actions {
            match a {
                Action::StartTimer { id, after_ms } => self.timers.push((*id, *after_ms)),
                Action::CancelTimer { id } => self.timers.retain(|(t, _)| t != id),
                Action::Play { id, .. } => self.playing = Some(*id),
                Action::StopPlayback { id } if self.playing == Some(*id) => self.playing = None,
                _ => {}
            }
        }
        self.log.extend(actions.clone());
        actions
    }

    /// The current prompt plays to its end.
    fn listen(&mut self) -> Vec<Action> {
        let id = self.playing.take().expect("something is playing");
        self.send(Event::PlaybackFinished(id))
    }

    /// The newest timer runs out (the caller stays silent); the clock moves with it.
    fn wait(&mut self) -> Vec<Action> {
        let (id, after) = self.timers.pop().expect("a timer is running");
        self.now += TimeDelta::milliseconds(after as i64);
        self.send(Event::TimerFired(id))
    }

    fn press(&mut self, keys: &str) -> Vec<Action> {
        let mut out = Vec::new();
        for k in keys.chars() {
            out.extend(self.send(Event::Dtmf(k)));
        }
        out
    }

    /// Node ids and exits recorded so far.
    fn path(&self) -> Vec<String> {
        events(&self.log)
            .into_iter()
            .map(|e| format!("{}:{}", e.node, e.exit))
            .collect()
    }
}

fn events(actions: &[Action]) -> Vec<NodeEvent> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::NodeEvent(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// What the caller hears: TTS text, `sound:name`, `digits:…`.
fn heard(actions: &[Action]) -> Vec<String> {
    let mut out = Vec::new();
    for a in actions {
        if let Action::Play { items, .. } = a {
            for item in items {
                out.push(match item {
                    PlayItem::Tts { speech, .. } => speech.as_str().to_owned(),
                    PlayItem::Sound { name, .. } => format!("sound:{name}"),
                    PlayItem::Digits(d) => format!("digits:{d}"),
                    PlayItem::Number(n) => format!("number:{n}"),
                    PlayItem::Pause(ms) => format!("pause:{ms}"),
                });
            }
        }
    }
    out
}

fn enqueued(actions: &[Action]) -> Option<EnqueueRequest> {
    actions.iter().find_map(|a| match a {
        Action::Enqueue(e) => Some(e.clone()),
        _ => None,
    })
}

fn transfer(actions: &[Action]) -> Option<TransferRequest> {
    actions.iter().find_map(|a| match a {
        Action::Transfer(t) => Some(t.clone()),
        _ => None,
    })
}

fn http(actions: &[Action]) -> Option<HttpRequest> {
    actions.iter().find_map(|a| match a {
        Action::Http(h) => Some(h.clone()),
        _ => None,
    })
}

fn hangup(actions: &[Action]) -> Option<HangupReason> {
    actions.iter().find_map(|a| match a {
        Action::Hangup { reason } => Some(*reason),
        _ => None,
    })
}
