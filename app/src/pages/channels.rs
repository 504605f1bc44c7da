//! The three ways to renew (RULES.md "Channels").

use leptos::prelude::*;

use super::{OutsideLink, PageContext, OFFICIAL_SITE};
use crate::i18n::Key;

/// The three channels; `heading` names the list.
#[component]
pub fn Channels(ctx: PageContext, heading: Key) -> impl IntoView {
    view! {
        <section class="channels" aria-labelledby="channels-heading">
            <h2 id="channels-heading">{ctx.text(heading)}</h2>
            <ol>
                <li>
                    {ctx.text(Key::ChannelProgram)} " "
                    <OutsideLink ctx=ctx href=OFFICIAL_SITE label=Key::InfoOfficialSite />
                </li>
                <li>{ctx.text(Key::ChannelWeb)}</li>
                <li>
                    {ctx.text(Key::ChannelCounter)} " "
                    <button type="button" class="inline-link" on:click=move |_| ctx.show_info.set(true)>
                        {ctx.text(Key::ActionCounter)}
                    </button>
                </li>
            </ol>
        </section>
    }
}
