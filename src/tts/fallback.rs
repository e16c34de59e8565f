//! Primary provider with an offline safety net: a caller on a live call must hear something
//! even when Polly throttles (8 TPS for neural voices) or is down.

use super::{Audio, SpeechRequest, Synthesizer, TtsError};

#[derive(Debug, Clone)]
pub struct Fallback<P, F> {
    pub primary: P,
    pub fallback: F,
}

impl<P: Synthesizer, F: Synthesizer> Synthesizer for Fallback<P, F> {
    /// The primary's name: the cache keys on what was asked for; [`Audio::provider`] tells what
    /// actually rendered.
    fn provider(&self) -> &'static str {
        self.primary.provider()
    }

    async fn synthesize(&self, req: &SpeechRequest) -> Result<Audio, TtsError> {
        match self.primary.synthesize(req).await {
            Ok(a) => Ok(a),
            // A malformed request would fail the same way on the fallback; say so directly.
            Err(e @ TtsError::InvalidRequest(_)) => Err(e),
            Err(e) => {
                tracing::warn!(
                    primary = self.primary.provider(),
                    fallback = self.fallback.provider(),
                    error = %e,
                    "TTS provider failed; using fallback voice"
                );
                self.fallback.synthesize(req).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(&'static str, Option<fn() -> TtsError>);

    impl Synthesizer for Fixed {
        fn provider(&self) -> &'static str {
            self.0
        }
        async fn synthesize(&self, req: &SpeechRequest) -> Result<Audio, TtsError> {
            match self.1 {
                Some(err) => Err(err()),
                None => Ok(Audio {
                    sample_rate: req.sample_rate.hz(),
                    samples: vec![1],
                    provider: self.0,
                }),
            }
        }
    }

    #[tokio::test]
    async fn falls_back_on_provider_errors_only() {
        let req = SpeechRequest::text("hi", "Joanna", "en-US");
        let throttled = Fallback {
            primary: Fixed(
                "polly",
                Some(|| TtsError::Throttled {
                    provider: "polly",
                    detail: String::new(),
                }),
            ),
            fallback: Fixed("espeak-ng", None),
        };
        assert_eq!(throttled.provider(), "polly");
        assert_eq!(
            throttled.synthesize(&req).await.unwrap().provider,
            "espeak-ng"
        );

        let ok = Fallback {
            primary: Fixed("polly", None),
            fallback: Fixed("espeak-ng", None),
        };
        assert_eq!(ok.synthesize(&req).await.unwrap().provider, "polly");

        let invalid = Fallback {
            primary: Fixed("polly", Some(|| TtsError::InvalidRequest("x".into()))),
            fallback: Fixed("espeak-ng", None),
        };
        assert!(matches!(
            invalid.synthesize(&req).await,
            Err(TtsError::InvalidRequest(_))
        ));
    }
}
