//! What a widget looks like and which sites may embed it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::*;
use crate::schedule::{CompiledSchedule, Force, Schedule, compile_schedule};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}

/// How a widget looks and behaves.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WidgetSettings {
    /// Header title.
    pub title: String,
    /// Accent colour, `#rrggbb`.
    pub colour: String,
    /// `right` or `left` (bottom corner).
    pub position: String,
    /// First line the visitor sees.
    pub welcome_message: String,
    /// Shown when no agent is available (messages are still accepted).
    pub away_message: String,
    /// Asked before the first message: any of `name`, `email`.
    pub prechat_fields: Vec<String>,
    /// Pages allowed to embed the widget (`https://shop.example`); empty = any.
    pub allowed_origins: Vec<String>,
    /// Opening hours in the `schedules.yaml` shape (time zone, weekly windows, holidays,
    /// overrides). Outside them the widget shows `closed_message` and still takes messages.
    /// None: always open.
    #[schema(value_type = Option<Object>)]
    pub business_hours: Option<Schedule>,
    /// Shown outside business hours; the widget adds when it opens again.
    pub closed_message: String,
    /// Emergency switch, like FreePBX's day/night toggle: `none` follows the hours, `open` or
    /// `closed` overrides them.
    #[schema(value_type = String)]
    pub force: Force,
}

impl Default for WidgetSettings {
    fn default() -> Self {
        WidgetSettings {
            title: "Chat with us".into(),
            colour: "#4f46e5".into(),
            position: "right".into(),
            welcome_message: "Hi! How can we help?".into(),
            away_message: "We're away right now. Leave a message and we'll reply here.".into(),
            prechat_fields: Vec::new(),
            allowed_origins: Vec::new(),
            business_hours: None,
            closed_message:
                "We're closed right now. Leave a message and we'll reply when we're back.".into(),
            force: Force::None,
        }
    }
}

impl WidgetSettings {
    pub(super) fn check(&self) -> ApiResult<()> {
        let hex = self.colour.len() == 7
            && self.colour.starts_with('#')
            && self.colour[1..].chars().all(|c| c.is_ascii_hexdigit());
        if !hex {
            return Err(ApiError::validation("settings.colour", "must be #rrggbb"));
        }
        if !matches!(self.position.as_str(), "right" | "left") {
            return Err(ApiError::validation(
                "settings.position",
                "must be right or left",
            ));
        }
        for (field, text, max) in [
            ("settings.title", &self.title, 60),
            ("settings.welcome_message", &self.welcome_message, 500),
            ("settings.away_message", &self.away_message, 500),
            ("settings.closed_message", &self.closed_message, 500),
        ] {
            if text.chars().count() > max {
                return Err(ApiError::validation(
                    field,
                    format!("must be at most {max} characters"),
                ));
            }
        }
        if let Some(f) = self
            .prechat_fields
            .iter()
            .find(|f| !matches!(f.as_str(), "name" | "email"))
        {
            return Err(ApiError::validation(
                "settings.prechat_fields",
                format!("unknown field `{f}` (name, email)"),
            ));
        }
        for o in &self.allowed_origins {
            let ok = url::Url::parse(o).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https") && u.host_str().is_some() && u.path() == "/"
            });
            if !ok {
                return Err(ApiError::validation(
                    "settings.allowed_origins",
                    format!("`{o}` is not an origin like https://shop.example"),
                ));
            }
        }
        self.opening_hours(Utc::now())?;
        Ok(())
    }

    /// The compiled business hours (None: always open); 422 naming the first error.
    pub(crate) fn opening_hours(&self, now: DateTime<Utc>) -> ApiResult<Option<CompiledSchedule>> {
        let Some(hours) = &self.business_hours else {
            return Ok(None);
        };
        let (compiled, problems) = compile_schedule("business_hours", hours, &BTreeMap::new(), now);
        if let Some(p) = problems.iter().find(|p| p.is_error()) {
            // Without list indices, so the admin page can find the field ("weekly.mon").
            let mut path = String::new();
            let mut depth = 0;
            for ch in p.path.trim_start_matches('.').chars() {
                match ch {
                    '[' => depth += 1,
                    ']' => depth -= 1,
                    '"' => {}
                    _ if depth == 0 => path.push(ch),
                    _ => {}
                }
            }
            let field = if path.is_empty() {
                "settings.business_hours".to_owned()
            } else {
                format!("settings.business_hours.{path}")
            };
            let message = match &p.hint {
                Some(h) => format!("{} ({h})", p.message),
                None => p.message.clone(),
            };
            return Err(ApiError::validation(&field, message));
        }
        Ok(compiled)
    }

    /// Whether the widget is within its business hours now, and if not, when it opens.
    pub(crate) fn open_now(&self, now: DateTime<Utc>) -> (bool, Option<DateTime<Utc>>) {
        let Ok(Some(hours)) = self.opening_hours(now) else {
            return (self.force != Force::Closed, None);
        };
        let open = hours.status_with(now, self.force).is_open();
        let opens_at = match (open, self.force) {
            (false, Force::None) => hours.next_open(now),
            _ => None,
        };
        (open, opens_at)
    }

    pub(crate) fn allows(&self, origin: Option<&str>) -> bool {
        match origin {
            _ if self.allowed_origins.is_empty() => true,
            None => true,
            Some(o) => self
                .allowed_origins
                .iter()
                .any(|a| a.trim_end_matches('/') == o.trim_end_matches('/')),
        }
    }
}

pub(crate) fn settings_of(w: &WidgetRecord) -> WidgetSettings {
    serde_json::from_str(&w.settings).unwrap_or_default()
}
