//! What a widget looks like and which sites may embed it.

use super::*;

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
        Ok(())
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
