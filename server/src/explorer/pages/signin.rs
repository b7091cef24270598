//! Sign in with a bearer token (when `[auth]` has tokens).

use maud::{Markup, html};

use super::page;

/// The sign-in form; `problem` says why the last attempt or the request
/// was refused.
pub(crate) fn render(problem: Option<&str>, next: &str) -> Markup {
    let body = html! {
        @if let Some(problem) = problem { p.error role="alert" { (problem) } }
        form method="post" action="/signin" {
            p { "This server requires a token with the " code { "read" } " role, the same as for its gRPC API." }
            input type="hidden" name="next" value=(next);
            label { "Token" input type="password" name="token" autocomplete="current-password" required; }
            p { button type="submit" { "Sign in" } }
        }
    };
    page("Sign in", body)
}
