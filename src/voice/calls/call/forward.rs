//! Call forwarding of extensions: a call to an extension that forwards rings the extension or
//! outside number it names instead, whoever places the call (a flow's `transfer`, an agent's
//! transfer or consultation, another phone). One hop: the target's own forwarding is not
//! followed, so two extensions forwarding to each other cannot loop. Do-not-disturb and a
//! disabled extension answer for the extension first, as on a desk phone.

use super::*;
use crate::store::extensions::ExtensionRecord;

/// Where a forwarding extension sends its calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Forward {
    /// Another extension of the tenant.
    Extension(String),
    /// An outside number (E.164), dialled through the trunk.
    Number(String),
}

impl Forward {
    /// The extension number or E.164 number rung instead.
    pub(crate) fn target(&self) -> &str {
        match self {
            Forward::Extension(n) | Forward::Number(n) => n,
        }
    }

    /// How the call's timeline names it: `extension 1003` or the number.
    pub(crate) fn describe(&self) -> String {
        match self {
            Forward::Extension(n) => format!("extension {n}"),
            Forward::Number(n) => n.clone(),
        }
    }

    /// The `forwarded` timeline entry of a call to extension `from`.
    pub(crate) fn detail(&self, from: &str) -> serde_json::Value {
        json!({"from": format!("extension {from}"), "to": self.describe()})
    }
}

/// Where calls to extension `number` are forwarded, if it forwards and takes calls.
pub(crate) fn forwarding(phones: &[ExtensionRecord], number: &str) -> Option<Forward> {
    let x = phones
        .iter()
        .find(|x| x.number == number && x.enabled && !x.dnd)?;
    let to = x
        .forward_to
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())?;
    Some(if crate::ivr::is_e164(to) {
        Forward::Number(to.to_owned())
    } else {
        Forward::Extension(to.to_owned())
    })
}

impl Call {
    /// [`forwarding`] for this call's tenant, with the hop on the call's timeline.
    pub(super) async fn forwarded(&mut self, number: &str) -> Option<Forward> {
        let store = self.shared.deps.store.clone();
        let phones = store::extensions::list_extensions_cached(&store, self.tenant)
            .await
            .ok()?;
        let forward = forwarding(&phones, number)?;
        self.event("forwarded", forward.detail(number)).await;
        Some(forward)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(number: &str, forward_to: Option<&str>) -> ExtensionRecord {
        ExtensionRecord {
            id: 1,
            tenant_id: crate::domain::TenantId(1),
            number: number.into(),
            display_name: String::new(),
            user_id: None,
            user_name: None,
            sealed_password: String::new(),
            codecs: Vec::new(),
            nat: true,
            call_limit: 2,
            voicemail_box: None,
            forward_to: forward_to.map(str::to_owned),
            dnd: false,
            enabled: true,
            provisioned_at: None,
            provision_error: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn a_forwarding_extension_sends_calls_to_its_target_once() {
        let phones = [
            phone("1001", Some("1002")),
            phone("1002", Some("1001")),
            phone("1003", Some("+14155550123")),
            phone("1004", None),
            phone("1005", Some(" ")),
        ];
        assert_eq!(
            forwarding(&phones, "1001"),
            Some(Forward::Extension("1002".into()))
        );
        // One hop: 1002 forwards back to 1001, which is not followed again.
        assert_eq!(
            forwarding(&phones, "1002"),
            Some(Forward::Extension("1001".into()))
        );
        assert_eq!(
            forwarding(&phones, "1003"),
            Some(Forward::Number("+14155550123".into()))
        );
        assert_eq!(forwarding(&phones, "1004"), None);
        assert_eq!(forwarding(&phones, "1005"), None);
        assert_eq!(forwarding(&phones, "1999"), None);
    }

    #[test]
    fn do_not_disturb_and_disabled_answer_before_forwarding() {
        let mut dnd = phone("1001", Some("1002"));
        dnd.dnd = true;
        let mut off = phone("1003", Some("1002"));
        off.enabled = false;
        let phones = [dnd, off];
        assert_eq!(forwarding(&phones, "1001"), None);
        assert_eq!(forwarding(&phones, "1003"), None);
    }
}
