//! A browser that cannot renew (no WebUSB, or not a secure context): why, and the other ways.

use leptos::prelude::*;

use super::actions::NextActions;
use super::channels::Channels;
use super::{PageContext, PAGE_TITLE_ID};
use crate::flow::{NextAction, UnsupportedReason};
use crate::i18n::Key;

/// Why this browser cannot renew, and what to do instead.
#[component]
pub fn UnsupportedPage(ctx: PageContext, reason: UnsupportedReason) -> impl IntoView {
    let (title, explanation) = match reason {
        UnsupportedReason::NoWebUsb => (
            Key::UnsupportedNoWebUsbTitle,
            Key::UnsupportedNoWebUsbExplanation,
        ),
        UnsupportedReason::InsecureContext => (
            Key::UnsupportedInsecureTitle,
            Key::UnsupportedInsecureExplanation,
        ),
    };
    view! {
        <h1 id=PAGE_TITLE_ID tabindex="-1">{ctx.text(title)}</h1>
        <p class="notice warning" role="alert">{ctx.text(explanation)}</p>
        <NextActions ctx=ctx actions=vec![NextAction::Counter, NextAction::OfficialProgram] />
        <Channels ctx=ctx heading=Key::OtherChannelsTitle />
    }
}
