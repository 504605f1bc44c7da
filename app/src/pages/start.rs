//! Start: what this does and what you need; the three channels; connect the reader.

use leptos::prelude::*;

use super::channels::Channels;
use super::{PageContext, PAGE_TITLE_ID};
use crate::controller::UserAction;
use crate::i18n::Key;

/// The first page.
#[component]
pub fn StartPage(ctx: PageContext) -> impl IntoView {
    let dispatch = ctx.flow.dispatch;
    let busy = ctx.flow.busy;
    view! {
        <h1 id=PAGE_TITLE_ID tabindex="-1">{ctx.text(Key::AppTitle)}</h1>
        <p class="lead">{ctx.text(Key::StartIntro)}</p>
        <section aria-labelledby="need-heading">
            <h2 id="need-heading">{ctx.text(Key::NeedTitle)}</h2>
            <ul class="checklist">
                <li>{ctx.text(Key::NeedCard)}</li>
                <li>{ctx.text(Key::NeedReader)}</li>
                <li>{ctx.text(Key::NeedNationalId)}</li>
                <li>{ctx.text(Key::NeedBirthday)}</li>
                <li>{ctx.text(Key::NeedPin)}</li>
            </ul>
        </section>
        <div class="actions">
            <button
                type="button"
                class="button primary"
                aria-describedby="start-hint"
                disabled=move || busy.get()
                on:click=move |_| dispatch.send(UserAction::ChooseReader)
            >
                {ctx.text(Key::StartButton)}
            </button>
        </div>
        <p id="start-hint" class="hint">{ctx.text(Key::StartButtonHint)}</p>
        <Channels ctx=ctx heading=Key::ChannelsTitle />
    }
}
