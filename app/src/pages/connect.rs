//! Connect reader: the browser's chooser is open.

use leptos::prelude::*;

use super::{PageContext, PAGE_TITLE_ID};
use crate::i18n::Key;

/// Shown while the browser's reader chooser is open.
#[component]
pub fn ConnectPage(ctx: PageContext) -> impl IntoView {
    view! {
        <h1 id=PAGE_TITLE_ID tabindex="-1">{ctx.text(Key::ChoosingTitle)}</h1>
        <p class="lead" aria-live="polite">{ctx.text(Key::ChoosingExplanation)}</p>
        <ul class="hints">
            <li>{ctx.text(Key::OsHintWindows)}</li>
            <li>{ctx.text(Key::OsHintLinux)}</li>
        </ul>
    }
}
