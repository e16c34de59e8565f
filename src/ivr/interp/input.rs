//! `menu` and `gather`: prompts with barge-in, timeouts, attempts with tapered re-prompts,
//! `@repeat`, direct dial, digit validation and read-back confirmation.

use chrono::{DateTime, Utc};

use super::prompts::luhn_valid;
use super::session::{Leave, Step, Wait};
use super::*;
use crate::ivr::catalog::Catalog;
use crate::ivr::expr::Value;
use crate::ivr::model::*;
use crate::ivr::parse_duration_ms;

const DEFAULT_TIMEOUT_MS: u64 = 6_000;
const DEFAULT_INTER_DIGIT_MS: u64 = 3_000;
const DEFAULT_ATTEMPTS: u32 = 3;

/// The state of a `menu` or `gather` visit. Attempts count per visit (§8).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Input {
    pub(super) attempts: u32,
    pub(super) digits: String,
    /// A gathered value waiting for the confirm key.
    pub(super) confirming: Option<String>,
    pub(super) playback: Option<PlaybackId>,
    pub(super) timer: Option<TimerId>,
}

enum Failure {
    Timeout,
    Invalid,
    /// The caller said "no" to the read-back: try again without a complaint.
    Rejected,
}

/// What the digits so far mean in a menu.
enum MenuMatch {
    Option(String, String),
    DirectDial,
    Directory,
    Partial,
    Invalid,
}

/// The input settings of a node, with `defaults.input` and the platform defaults applied.
struct Settings {
    timeout_ms: u64,
    inter_digit_ms: u64,
    max_attempts: u32,
}

fn settings(cat_flow: Option<&crate::ivr::catalog::FlowDef>, node: &NodeKind) -> Settings {
    let input = cat_flow
        .and_then(|f| f.header.defaults.as_ref())
        .and_then(|d| d.input.clone());
    let dflt = |f: fn(&InputDefaults) -> Option<&String>| {
        input
            .as_ref()
            .and_then(|i| f(i).and_then(|s| parse_duration_ms(s)))
    };
    let (timeout, inter, attempts) = match node {
        NodeKind::Menu(m) => (&m.timeout, &m.inter_digit_timeout, m.max_attempts),
        NodeKind::Gather(g) => (&g.timeout, &g.inter_digit_timeout, g.max_attempts),
        _ => (&None, &None, None),
    };
    Settings {
        timeout_ms: timeout
            .as_deref()
            .and_then(parse_duration_ms)
            .or_else(|| dflt(|i| i.timeout.as_ref()))
            .unwrap_or(DEFAULT_TIMEOUT_MS),
        inter_digit_ms: inter
            .as_deref()
            .and_then(parse_duration_ms)
            .or_else(|| dflt(|i| i.inter_digit_timeout.as_ref()))
            .unwrap_or(DEFAULT_INTER_DIGIT_MS),
        max_attempts: attempts
            .or_else(|| input.as_ref().and_then(|i| i.max_attempts))
            .unwrap_or(DEFAULT_ATTEMPTS)
            .max(1),
    }
}

/// A direct-dial range `4000-4999` or a single extension: (low, high, length).
fn parse_range(text: &str) -> Option<(u64, u64, usize)> {
    let (lo, hi) = text.split_once('-').unwrap_or((text, text));
    let (lo, hi) = (lo.trim(), hi.trim());
    if lo.len() != hi.len()
        || lo.is_empty()
        || !lo.chars().chain(hi.chars()).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    Some((lo.parse().ok()?, hi.parse().ok()?, lo.len()))
}

fn classify(menu: &Menu, digits: &str) -> MenuMatch {
    if let Some(target) = menu.options.get(digits) {
        return MenuMatch::Option(digits.to_owned(), target.clone());
    }
    if menu.directory_key.as_deref() == Some(digits) {
        return MenuMatch::Directory;
    }
    let mut partial = menu.options.keys().any(|k| k.starts_with(digits));
    for range in menu.direct_dial.iter().flat_map(|d| &d.extensions) {
        let Some((lo, hi, len)) = parse_range(range) else {
            continue;
        };
        if !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > len {
            continue;
        }
        let Ok(n) = digits.parse::<u64>() else {
            continue;
        };
        let scale = 10u64.pow((len - digits.len()) as u32);
        if digits.len() == len && (lo..=hi).contains(&n) {
            return MenuMatch::DirectDial;
        }
        if n * scale <= hi && (n + 1) * scale > lo {
            partial = true;
        }
    }
    if partial {
        MenuMatch::Partial
    } else {
        MenuMatch::Invalid
    }
}

fn valid(v: &GatherValidate, value: &str) -> Result<(), String> {
    if let Some(pattern) = &v.pattern {
        let re = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| e.to_string())?;
        if !re.is_match(value) {
            return Err("does not match the pattern".into());
        }
    }
    if v.luhn && !luhn_valid(value) {
        return Err("fails the Luhn check".into());
    }
    if let Some(list) = &v.one_of
        && !list.iter().any(|x| x == value)
    {
        return Err("is not one of the allowed values".into());
    }
    if let Some(range) = &v.range {
        let (lo, hi) = range.split_once('-').unwrap_or((range, range));
        let bounds = (lo.trim().parse::<i64>(), hi.trim().parse::<i64>());
        let n = value.parse::<i64>();
        match (bounds, n) {
            ((Ok(lo), Ok(hi)), Ok(n)) if (lo..=hi).contains(&n) => {}
            _ => return Err(format!("is outside {range}")),
        }
    }
    Ok(())
}

impl Session {
    fn input_mut(&mut self) -> Option<&mut Input> {
        match &mut self.wait {
            Wait::Input(i) => Some(i),
            _ => None,
        }
    }

    /// Enters a `menu` or `gather`: digits buffered by an interruptible prompt are used
    /// first, without playing the prompt (the caller already chose).
    pub(super) fn enter_input(
        &mut self,
        cat: &Catalog,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) -> Step {
        self.wait = Wait::Input(Input::default());
        if self.buffer.is_empty() {
            self.play_input_prompt(cat, None, out);
            return Step::Wait;
        }
        let node = self.frame().node.clone();
        while !self.buffer.is_empty()
            && matches!(self.wait, Wait::Input(_))
            && self.frame().node == node
        {
            let digit = self.buffer.remove(0);
            self.input_digit(cat, digit, now, out);
        }
        Step::Wait
    }

    /// Plays `lead` (a complaint) then the node's prompt (a menu's `reprompt` after the
    /// first time), and waits for it to end before the timeout starts.
    fn play_input_prompt(&mut self, cat: &Catalog, lead: Option<&Prompt>, out: &mut Vec<Action>) {
        let Some(node) = self.node(cat) else { return };
        let first = self.input_mut().is_some_and(|i| i.attempts == 0);
        let main = match &node.kind {
            NodeKind::Menu(m) => match (&m.reprompt, first && lead.is_none()) {
                (Some(short), false) => short,
                _ => &m.prompt,
            },
            NodeKind::Gather(g) => &g.prompt,
            _ => return,
        };
        let mut items = lead
            .map(|p| self.render_prompt(cat, p, None, None))
            .unwrap_or_default();
        items.extend(self.render_prompt(cat, main, None, None));
        let id = self.play(items, out);
        if let Some(input) = self.input_mut() {
            input.playback = Some(id);
            input.digits.clear();
        }
    }

    pub(super) fn input_playback_done(
        &mut self,
        cat: &Catalog,
        id: PlaybackId,
        out: &mut Vec<Action>,
    ) {
        let Some(node) = self.node(cat) else { return };
        let s = settings(self.flow(cat), &node.kind);
        let Some(input) = self.input_mut() else {
            return;
        };
        if input.playback != Some(id) {
            return;
        }
        input.playback = None;
        let timer = self.timer(s.timeout_ms, out);
        if let Some(input) = self.input_mut() {
            input.timer = Some(timer);
        }
    }

    pub(super) fn input_digit(
        &mut self,
        cat: &Catalog,
        digit: char,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        let Some(node) = self.node(cat) else { return };
        let s = settings(self.flow(cat), &node.kind);
        let Some(input) = self.input_mut() else {
            return;
        };
        if let Some(id) = input.playback.take() {
            out.push(Action::StopPlayback { id });
        }
        if let Some(id) = input.timer.take() {
            out.push(Action::CancelTimer { id });
        }
        let confirming = input.confirming.clone();
        match &node.kind {
            NodeKind::Gather(g) if confirming.is_some() => {
                let confirm = g.confirm.as_ref();
                if confirm.is_some_and(|c| c.yes_key.starts_with(digit)) {
                    let digits = self.masked(cat, &g.into, confirming.as_deref().unwrap_or(""));
                    let leave = Leave {
                        exit: "next".into(),
                        digits: Some(digits),
                        detail: Some("confirmed".into()),
                    };
                    self.leave(cat, now, out, leave, Some(g.next.clone()));
                } else if confirm.is_some_and(|c| c.no_key.starts_with(digit)) {
                    self.input_failed(cat, Failure::Rejected, now, out);
                } else {
                    let timer = self.timer(s.timeout_ms, out);
                    if let Some(input) = self.input_mut() {
                        input.timer = Some(timer);
                    }
                }
            }
            NodeKind::Menu(m) => {
                input.digits.push(digit);
                let digits = input.digits.clone();
                match classify(m, &digits) {
                    MenuMatch::Option(key, target) => self.menu_select(cat, &key, target, now, out),
                    MenuMatch::DirectDial => self.direct_dial(cat, digits, now, out),
                    MenuMatch::Directory => self.menu_directory(cat, digits, now, out),
                    MenuMatch::Partial => {
                        let timer = self.timer(s.inter_digit_ms, out);
                        if let Some(input) = self.input_mut() {
                            input.timer = Some(timer);
                        }
                    }
                    MenuMatch::Invalid => self.input_failed(cat, Failure::Invalid, now, out),
                }
            }
            NodeKind::Gather(g) => {
                let finish_key = g.finish_on_key.as_deref().unwrap_or("#");
                if finish_key.starts_with(digit) {
                    self.gather_finish(cat, now, out);
                    return;
                }
                input.digits.push(digit);
                if input.digits.chars().count() >= g.max_digits as usize {
                    self.gather_finish(cat, now, out);
                } else {
                    let timer = self.timer(s.inter_digit_ms, out);
                    if let Some(input) = self.input_mut() {
                        input.timer = Some(timer);
                    }
                }
            }
            _ => {}
        }
    }

    pub(super) fn input_timeout(
        &mut self,
        cat: &Catalog,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        let Some(node) = self.node(cat) else { return };
        let Some(input) = self.input_mut() else {
            return;
        };
        input.timer = None;
        let digits = input.digits.clone();
        if input.confirming.is_some() {
            // Silence after the read-back is not a yes.
            self.input_failed(cat, Failure::Rejected, now, out);
            return;
        }
        if digits.is_empty() {
            self.input_failed(cat, Failure::Timeout, now, out);
            return;
        }
        match &node.kind {
            NodeKind::Menu(m) => match m.options.get(&digits) {
                Some(target) => self.menu_select(cat, &digits, target.clone(), now, out),
                None => self.input_failed(cat, Failure::Invalid, now, out),
            },
            _ => self.gather_finish(cat, now, out),
        }
    }

    fn menu_select(
        &mut self,
        cat: &Catalog,
        key: &str,
        target: String,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        if target == "@repeat" {
            // Replays the full prompt; no attempt is counted and the visit goes on.
            if let Some(input) = self.input_mut() {
                input.digits.clear();
            }
            let Some(NodeKind::Menu(m)) = self.node(cat).map(|n| &n.kind) else {
                return;
            };
            let items = self.render_prompt(cat, &m.prompt, None, None);
            let id = self.play(items, out);
            if let Some(input) = self.input_mut() {
                input.playback = Some(id);
            }
            return;
        }
        if !target.starts_with('@') {
            let menu = self.frame().node.clone();
            self.frame_mut().menus.push(menu);
        }
        let leave = Leave {
            exit: format!("options.{key}"),
            digits: Some(key.to_owned()),
            detail: None,
        };
        self.leave(cat, now, out, leave, Some(target));
    }

    fn direct_dial(
        &mut self,
        cat: &Catalog,
        digits: String,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        let leave = Leave {
            exit: "direct_dial".into(),
            digits: Some(digits.clone()),
            detail: None,
        };
        self.record(cat, now, out, leave);
        out.push(Action::Transfer(TransferRequest {
            to: Destination::Extension(digits),
            caller_id: self.caller.clone(),
            ring_timeout_ms: 30_000,
            whisper: Vec::new(),
        }));
        self.wait = Wait::Transfer { direct: true };
    }

    /// `directory_key`: dial-by-name over the tenant's extensions; the caller comes back to
    /// this menu unless a person is chosen (see `on_directory`).
    fn menu_directory(
        &mut self,
        cat: &Catalog,
        digits: String,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        let leave = Leave {
            exit: "directory_key".into(),
            digits: Some(digits),
            detail: None,
        };
        self.record(cat, now, out, leave);
        out.push(Action::Directory(DirectoryRequest {
            directory: "extensions".into(),
            search: "last_name".into(),
            min_digits: 3,
            max_results: 5,
            confirm_match: true,
            announce_extension: false,
            entries: self.config.directory.clone(),
        }));
        self.wait = Wait::Directory;
    }

    fn gather_finish(&mut self, cat: &Catalog, now: DateTime<Utc>, out: &mut Vec<Action>) {
        let Some(NodeKind::Gather(g)) = self.node(cat).map(|n| &n.kind) else {
            return;
        };
        let Some(input) = self.input_mut() else {
            return;
        };
        let digits = std::mem::take(&mut input.digits);
        let count = digits.chars().count() as u32;
        let checked = if count < g.min_digits.unwrap_or(1) || count > g.max_digits {
            Err(format!("{count} digits"))
        } else {
            g.validate
                .as_ref()
                .map_or(Ok(()), |v| valid(v, &digits))
                .and_then(|()| {
                    let kind = self
                        .flow(cat)
                        .and_then(|f| f.var_type(&g.into))
                        .unwrap_or(VarType::Digits);
                    Value::coerce(kind, &digits)
                })
        };
        let value = match checked {
            Ok(v) => v,
            Err(_) => {
                self.input_failed(cat, Failure::Invalid, now, out);
                return;
            }
        };
        self.frame_mut().vars.insert(g.into.clone(), value);
        let Some(confirm) = &g.confirm else {
            let leave = Leave {
                exit: "next".into(),
                digits: Some(self.masked(cat, &g.into, &digits)),
                detail: None,
            };
            self.leave(cat, now, out, leave, Some(g.next.clone()));
            return;
        };
        let items = self.render_prompt(cat, &confirm.prompt, None, None);
        let id = self.play(items, out);
        if let Some(input) = self.input_mut() {
            input.confirming = Some(digits);
            input.playback = Some(id);
        }
    }

    /// Digits for the node event: `*` per digit when they go into a PII variable.
    fn masked(&self, cat: &Catalog, var: &str, digits: &str) -> String {
        if self.flow(cat).is_some_and(|f| f.is_pii(var)) {
            "*".repeat(digits.chars().count())
        } else {
            digits.to_owned()
        }
    }

    fn input_failed(
        &mut self,
        cat: &Catalog,
        failure: Failure,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        let Some(node) = self.node(cat) else { return };
        let s = settings(self.flow(cat), &node.kind);
        let Some(input) = self.input_mut() else {
            return;
        };
        input.attempts += 1;
        input.digits.clear();
        input.confirming = None;
        let attempts = input.attempts;
        if attempts >= s.max_attempts {
            let target = match &node.kind {
                NodeKind::Menu(m) => m.on_max_attempts.clone(),
                NodeKind::Gather(g) => g.on_max_attempts.clone(),
                _ => None,
            };
            let why = match failure {
                Failure::Timeout => "timeout",
                Failure::Invalid => "invalid",
                Failure::Rejected => "not confirmed",
            };
            let leave =
                Leave::exit("on_max_attempts").detail(format!("{attempts} attempts, last {why}"));
            self.leave(cat, now, out, leave, target);
            return;
        }
        let (on_timeout, on_invalid) = match &node.kind {
            NodeKind::Menu(m) => (&m.on_timeout, &m.on_invalid),
            NodeKind::Gather(g) => (&g.on_timeout, &g.on_invalid),
            _ => return,
        };
        let reprompt = match failure {
            Failure::Timeout => on_timeout.as_ref(),
            Failure::Invalid => on_invalid.as_ref(),
            Failure::Rejected => None,
        };
        // Tapered: the n-th failure plays the n-th prompt, the last one repeating.
        let lead = reprompt.and_then(|r| {
            r.prompts
                .as_ref()
                .filter(|p| !p.is_empty())
                .map(|p| &p[(attempts as usize - 1).min(p.len() - 1)])
                .or(r.prompt.as_ref())
        });
        self.play_input_prompt(cat, lead, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_validation_rules() {
        let rule = |pattern: Option<&str>, luhn, one_of: Option<&[&str]>, range: Option<&str>| {
            GatherValidate {
                pattern: pattern.map(str::to_owned),
                luhn,
                one_of: one_of.map(|l| l.iter().map(|s| (*s).to_owned()).collect()),
                range: range.map(str::to_owned),
            }
        };
        let day = rule(None, false, None, Some("1-31"));
        assert!(valid(&day, "31").is_ok());
        assert!(valid(&day, "32").is_err());
        assert!(valid(&day, "0").is_err());
        let zip = rule(Some("9[0-9]{4}"), false, None, None);
        assert!(valid(&zip, "94107").is_ok());
        // Anchored: a match inside longer input is not enough.
        assert!(valid(&zip, "194107").is_err());
        let choice = rule(None, false, Some(&["1", "2"]), None);
        assert!(valid(&choice, "2").is_ok());
        assert!(valid(&choice, "3").is_err());
        let card = rule(None, true, None, None);
        assert!(valid(&card, "4111111111111111").is_ok());
        assert!(valid(&card, "4111111111111112").is_err());
    }

    #[test]
    fn menu_digits_classify_against_options_and_extension_ranges() {
        let menu: Menu = serde_json::from_value(serde_json::json!({
            "prompt": "p",
            "options": {"1": "a", "2": "b"},
            "direct_dial": {"extensions": ["4000-4999", "700"]},
            "directory_key": "9"
        }))
        .unwrap();
        assert!(matches!(classify(&menu, "1"), MenuMatch::Option(k, t) if k == "1" && t == "a"));
        assert!(matches!(classify(&menu, "4"), MenuMatch::Partial));
        assert!(matches!(classify(&menu, "4999"), MenuMatch::DirectDial));
        assert!(matches!(classify(&menu, "70"), MenuMatch::Partial));
        assert!(matches!(classify(&menu, "700"), MenuMatch::DirectDial));
        assert!(matches!(classify(&menu, "701"), MenuMatch::Invalid));
        assert!(matches!(classify(&menu, "9"), MenuMatch::Directory));
        assert!(matches!(classify(&menu, "5"), MenuMatch::Invalid));
    }
}
