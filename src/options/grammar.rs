//! Stage one and two of the grammar: text -> tokens -> plan, and the plan's
//! canonical form.

use super::{GrammarLimits, OptionsError, Plan};

/// One `key_value` token exactly as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    /// The whole token, for error messages.
    pub raw: &'a str,
    /// The key before the first `_`, e.g. `w` or `e`.
    pub key: &'a str,
    /// The value after the first `_`, e.g. `150` or `blur:300`.
    pub value: &'a str,
}

/// Splits a transformation into tokens.
pub fn tokenize(transformation: &str, max_tokens: usize) -> Result<Vec<Token<'_>>, OptionsError> {
    let _ = (transformation, max_tokens);
    Ok(Vec::new())
}

pub(super) fn build_plan(tokens: &[Token<'_>], limits: &GrammarLimits) -> Result<Plan, OptionsError> {
    let _ = (tokens, limits);
    Ok(Plan::default())
}

pub(super) fn canonical(plan: &Plan) -> String {
    format!("{plan:?}")
}
