//! Guard: which destinations may be fetched (SSRF protection).

/// The outbound policy, built once from the configuration.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    /// `allow_private_networks`: lets loopback and private addresses through
    /// (tests and local development only).
    pub allow_private_networks: bool,
    /// `allowed_sources` host patterns; empty means any public host.
    pub allowed_sources: Vec<String>,
}

impl Guard {
    /// The policy of a configuration.
    pub fn new(config: &crate::config::Config) -> Guard {
        Guard {
            allow_private_networks: config.allow_private_networks,
            allowed_sources: config.allowed_sources.clone(),
        }
    }
}
