//! The DNS resolver of the outbound client: the system resolver, filtered by
//! the [`Guard`].
//!
//! The HTTP client connects only to the addresses this resolver returns, so
//! checking them here closes the DNS-rebinding window: there is no second
//! lookup between the check and the connection. A name whose every address is
//! refused fails with [`FetchError::PrivateAddress`]; a name with a mix of
//! public and private addresses connects to the public ones only.
//!
//! IP literals never reach a resolver (the connector parses them itself),
//! which is why [`Guard::check_url`] judges them on every hop.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::{FetchError, Guard};

/// A `reqwest` resolver that lets only permitted addresses through.
#[derive(Debug, Clone)]
pub(crate) struct GuardedResolver {
    /// The policy every resolved address is checked against.
    guard: Arc<Guard>,
}

impl GuardedResolver {
    pub(crate) fn new(guard: Arc<Guard>) -> GuardedResolver {
        GuardedResolver { guard }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = Arc::clone(&self.guard);
        Box::pin(async move {
            // The error travels up through the client as a boxed source and is
            // recovered by downcasting (see `error_from_reqwest`).
            let addrs = resolve_permitted(&guard, name.as_str())
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { Box::new(e) })?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Resolves `host` and keeps the addresses the guard permits.
pub(crate) async fn resolve_permitted(guard: &Guard, host: &str) -> Result<Vec<SocketAddr>, FetchError> {
    // Port 0: the connector puts the URL's port on each address.
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| FetchError::Unreachable(format!("could not resolve {host}: {e}")))?
        .collect();
    if guard.trusts_host(host) {
        // An HTTP mount's own host: the operator's, private or not.
        return Ok(resolved);
    }
    filter_permitted(guard, host, resolved)
}

/// The permitted subset of `resolved`, or why there is none.
fn filter_permitted(
    guard: &Guard,
    host: &str,
    resolved: Vec<SocketAddr>,
) -> Result<Vec<SocketAddr>, FetchError> {
    let mut refusal = None;
    let mut permitted = Vec::with_capacity(resolved.len());
    for addr in resolved {
        match guard.check_address(addr.ip()) {
            Ok(()) => permitted.push(addr),
            Err(e) => {
                refusal.get_or_insert(e);
            }
        }
    }
    if !permitted.is_empty() {
        return Ok(permitted);
    }
    Err(match refusal {
        Some(FetchError::PrivateAddress(address)) => {
            FetchError::PrivateAddress(format!("{address}, the address of {host},"))
        }
        Some(other) => other,
        None => FetchError::Unreachable(format!("{host} resolved to no address")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn guard(private: bool) -> Guard {
        let mut config = Config::defaults();
        config.allow_private_networks = private;
        Guard::new(&config)
    }

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn private_results_are_filtered_out() {
        let kept = filter_permitted(
            &guard(false),
            "mixed.example",
            addrs(&["10.0.0.1:0", "93.184.215.14:0", "[::1]:0", "[2606:4700::1]:0"]),
        )
        .unwrap();
        assert_eq!(kept, addrs(&["93.184.215.14:0", "[2606:4700::1]:0"]));
    }

    #[test]
    fn only_private_results_are_refused() {
        let err = filter_permitted(
            &guard(false),
            "metadata.example",
            addrs(&["169.254.169.254:0", "[fd00::1]:0"]),
        )
        .unwrap_err();
        assert_eq!(
            err,
            FetchError::PrivateAddress(
                "169.254.169.254 (link-local), the address of metadata.example,".into()
            )
        );
    }

    #[test]
    fn no_result_is_unreachable() {
        let err = filter_permitted(&guard(false), "void.example", vec![]).unwrap_err();
        assert!(matches!(err, FetchError::Unreachable(_)), "{err:?}");
    }

    #[test]
    fn everything_passes_when_private_networks_are_allowed() {
        let all = addrs(&["127.0.0.1:0", "10.0.0.1:0"]);
        assert_eq!(filter_permitted(&guard(true), "local", all.clone()).unwrap(), all);
    }

    #[tokio::test]
    async fn localhost_is_resolved_then_refused() {
        let err = resolve_permitted(&guard(false), "localhost").await.unwrap_err();
        assert!(matches!(err, FetchError::PrivateAddress(_)), "{err:?}");
        let ok = resolve_permitted(&guard(true), "localhost").await.unwrap();
        assert!(ok.iter().all(|a| a.ip().is_loopback()), "{ok:?}");
    }

    #[tokio::test]
    async fn through_the_reqwest_trait() {
        let resolver = GuardedResolver::new(Arc::new(guard(false)));
        let name: Name = "localhost".parse().unwrap();
        let err = resolver.resolve(name).await.err().unwrap();
        assert!(
            matches!(
                err.downcast_ref::<FetchError>(),
                Some(FetchError::PrivateAddress(_))
            ),
            "{err:?}"
        );
    }
}
