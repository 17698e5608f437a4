//! The keys of the result and source caches, written out field by field.
//!
//! A key is text built from each part by an explicit, exhaustive mapping,
//! never from `Debug` output: renaming a variant or a field cannot split one
//! result into two entries or merge two results into one, and a new variant
//! does not compile until it is given its key. The unit tests pin the text of
//! a few keys, so a change to the mapping is a visible decision.

use crate::format::ImageFormat;
use crate::options::Chain;
use crate::pipeline::OutputChoice;
use crate::source::Source;

/// The key of a finished result: the canonical plan, the output choice
/// (which for `f_auto` depends on `Accept`) and the source, `|`-separated.
/// `|` cannot appear in a canonical plan or an output choice, and the
/// source comes last, so the parts cannot run into each other. The source
/// is its URL, or `mount:{name}/{key}` for an object of a mount
/// ([`Source::cache_key`]), which no URL can be.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResultKey(String);

impl ResultKey {
    pub fn new(chain: &Chain, choice: OutputChoice, source: &Source) -> ResultKey {
        ResultKey(format!(
            "{}|{}|{}",
            chain.cache_key(),
            output_key(choice),
            source.cache_key()
        ))
    }

    /// The key of a result drawn with layers: each layer's source key,
    /// length-prefixed (a URL may hold any character), between the output
    /// choice and the source. Without layers, [`ResultKey::new`].
    pub fn layered(chain: &Chain, choice: OutputChoice, layers: &[Source], source: &Source) -> ResultKey {
        if layers.is_empty() {
            return ResultKey::new(chain, choice, source);
        }
        let layers: String = layers
            .iter()
            .map(|layer| {
                let key = layer.cache_key();
                format!("layer:{}:{key}|", key.len())
            })
            .collect();
        ResultKey(format!(
            "{}|{}|{layers}{}",
            chain.cache_key(),
            output_key(choice),
            source.cache_key()
        ))
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The key of a downloaded source: its URL as it is fetched, or its mount
/// and key.
pub fn source_key(source: &Source) -> String {
    source.cache_key()
}

/// The output choice as key text: `source`, `jpeg`..., or `auto` with the
/// formats the client accepts.
fn output_key(choice: OutputChoice) -> String {
    match choice {
        OutputChoice::Source => "source".to_owned(),
        OutputChoice::Fixed(format) => format_key(format).to_owned(),
        OutputChoice::Auto { avif, webp } => {
            let mut key = "auto".to_owned();
            if avif {
                key.push_str("+avif");
            }
            if webp {
                key.push_str("+webp");
            }
            key
        }
    }
}

fn format_key(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Jpeg => "jpeg",
        ImageFormat::Png => "png",
        ImageFormat::Gif => "gif",
        ImageFormat::Webp => "webp",
        ImageFormat::Avif => "avif",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::{Guard, SourceUrl};
    use crate::options::{GrammarLimits, Plan};

    fn key(transformation: &str, choice: OutputChoice) -> String {
        let plan = Plan::parse(transformation, &GrammarLimits::default()).unwrap();
        let mut config = crate::Config::defaults();
        config.allow_private_networks = true;
        let source = SourceUrl::parse("https://example.com/a.jpg?v=1", &Guard::new(&config)).unwrap();
        ResultKey::new(&Chain::single(plan), choice, &Source::Remote(source)).into_string()
    }

    #[test]
    fn keys_are_pinned() {
        let src = "https://example.com/a.jpg?v=1";
        let plan = |t: &str| Plan::parse(t, &GrammarLimits::default()).unwrap().cache_key();
        assert_eq!(
            key("w_100", OutputChoice::Source),
            format!("{}|source|{src}", plan("w_100"))
        );
        assert_eq!(
            key("f_webp,w_100", OutputChoice::Fixed(ImageFormat::Webp)),
            format!("{}|webp|{src}", plan("f_webp,w_100"))
        );
        let auto = |avif, webp| key("f_auto", OutputChoice::Auto { avif, webp });
        assert_eq!(auto(false, false), format!("{}|auto|{src}", plan("f_auto")));
        assert_eq!(auto(true, false), format!("{}|auto+avif|{src}", plan("f_auto")));
        assert_eq!(auto(false, true), format!("{}|auto+webp|{src}", plan("f_auto")));
        assert_eq!(
            auto(true, true),
            format!("{}|auto+avif+webp|{src}", plan("f_auto"))
        );
        // Whole keys, written out: the text a rename must not change.
        assert_eq!(
            key("h_50,q_80,w_100", OutputChoice::Source),
            "w_100,h_50|source|https://example.com/a.jpg?v=1"
        );
        assert_eq!(
            key(
                "f_auto,c_fill,w_100",
                OutputChoice::Auto {
                    avif: true,
                    webp: false
                }
            ),
            "w_100,c_fill,f_auto|auto+avif|https://example.com/a.jpg?v=1"
        );
        assert_eq!(
            key("f_png,e_grayscale", OutputChoice::Fixed(ImageFormat::Png)),
            "f_png,e_grayscale|png|https://example.com/a.jpg?v=1"
        );
        let formats = [
            (ImageFormat::Jpeg, "jpeg"),
            (ImageFormat::Png, "png"),
            (ImageFormat::Gif, "gif"),
            (ImageFormat::Webp, "webp"),
            (ImageFormat::Avif, "avif"),
        ];
        for (format, text) in formats {
            assert_eq!(output_key(OutputChoice::Fixed(format)), text);
        }
    }

    #[test]
    fn objects_of_mounts_have_keys_no_url_can_have() {
        let mut config = crate::Config::defaults();
        let folder = std::env::temp_dir();
        config.mounts =
            crate::source::parse_mounts(&format!("disk={}", url::Url::from_file_path(&folder).unwrap()))
                .unwrap();
        let mounts = crate::source::Mounts::new(&config, &Guard::new(&config)).unwrap();
        let object = Source::Object {
            mount: std::sync::Arc::clone(mounts.get("disk").unwrap()),
            key: crate::source::ObjectKey::parse("a/b%20c.jpg").unwrap(),
        };
        let plan = Plan::parse("w_100", &GrammarLimits::default()).unwrap();
        assert_eq!(source_key(&object), "mount:disk/a/b c.jpg");
        assert_eq!(
            ResultKey::new(&Chain::single(plan.clone()), OutputChoice::Source, &object).into_string(),
            "w_100|source|mount:disk/a/b c.jpg"
        );
    }

    #[test]
    fn different_questions_have_different_keys() {
        let mut keys = vec![
            key("", OutputChoice::Source),
            key("w_100", OutputChoice::Source),
            key("w_100", OutputChoice::Fixed(ImageFormat::Jpeg)),
            key("w_100", OutputChoice::Fixed(ImageFormat::Png)),
            key(
                "w_100",
                OutputChoice::Auto {
                    avif: false,
                    webp: false,
                },
            ),
            key(
                "w_100",
                OutputChoice::Auto {
                    avif: true,
                    webp: false,
                },
            ),
            key(
                "w_100",
                OutputChoice::Auto {
                    avif: false,
                    webp: true,
                },
            ),
            key(
                "w_100",
                OutputChoice::Auto {
                    avif: true,
                    webp: true,
                },
            ),
        ];
        let all = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), all);
        // Equal plans written differently share one key.
        assert_eq!(
            key("h_50,w_100", OutputChoice::Source),
            key("w_100,h_50", OutputChoice::Source)
        );
    }
}
