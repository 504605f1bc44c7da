//! Insert the card (first time, after it was pulled out, after an interrupted write), and
//! reading it.

use leptos::prelude::*;

use super::{PageContext, PAGE_TITLE_ID};
use crate::controller::UserAction;
use crate::flow::InsertNotice;
use crate::i18n::Key;

/// "Insert the card" with why (`notice`), or "reading the card" when `notice` is `None`.
#[component]
pub fn InsertPage(ctx: PageContext, notice: Option<InsertNotice>) -> impl IntoView {
    let dispatch = ctx.flow.dispatch;
    let busy = ctx.flow.busy;
    let Some(notice) = notice else {
        return view! {
            <h1 id=PAGE_TITLE_ID tabindex="-1">{ctx.text(Key::ReadingTitle)}</h1>
            <p class="notice progress" role="status" aria-live="polite">
                <span class="spinner" aria-hidden="true"></span>
                {ctx.text(Key::ReadingExplanation)}
            </p>
        }
        .into_any();
    };
    let (text, class) = match notice {
        InsertNotice::NoCardYet => (Key::InsertNoCardYet, "notice"),
        InsertNotice::CardRemoved => (Key::InsertCardRemoved, "notice warning"),
        InsertNotice::RenewalInterrupted => (Key::InsertRenewalInterrupted, "notice warning"),
        InsertNotice::NotCitizenCard => (Key::InsertNotCitizenCard, "notice warning"),
    };
    let role = (notice != InsertNotice::NoCardYet).then_some("alert");
    view! {
        <h1 id=PAGE_TITLE_ID tabindex="-1">{ctx.text(Key::InsertTitle)}</h1>
        <p class=class role=role>{ctx.text(text)}</p>
        <p class="hint" aria-live="polite">{ctx.text(Key::InsertWaiting)}</p>
        <div class="actions">
            <button
                type="button"
                class="button"
                disabled=move || busy.get()
                on:click=move |_| dispatch.send(UserAction::ReadCard)
            >
                {ctx.text(Key::ReadCardNow)}
            </button>
        </div>
    }
    .into_any()
}
