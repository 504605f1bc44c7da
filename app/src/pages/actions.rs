//! The next actions a page offers, as large buttons and links.

use leptos::prelude::*;

use super::{OutsideLink, PageContext, OFFICIAL_SITE};
use crate::controller::UserAction;
use crate::flow::NextAction;
use crate::i18n::Key;
use crate::platform;

/// The label of an action.
pub fn action_label(action: NextAction) -> Key {
    match action {
        NextAction::TryAgain => Key::ActionTryAgain,
        NextAction::ChooseReader => Key::ActionChooseReader,
        NextAction::StartOver => Key::ActionStartOver,
        NextAction::Counter => Key::ActionCounter,
        NextAction::OfficialProgram => Key::ActionOfficialProgram,
        NextAction::Reload => Key::ActionReload,
    }
}

/// `actions` as buttons, the first one the primary.
#[component]
pub fn NextActions(ctx: PageContext, actions: Vec<NextAction>) -> impl IntoView {
    let dispatch = ctx.flow.dispatch;
    let busy = ctx.flow.busy;
    view! {
        <div class="actions">
            {actions
                .into_iter()
                .enumerate()
                .map(|(index, action)| {
                    let class = if index == 0 { "button primary" } else { "button" };
                    let label = ctx.text(action_label(action));
                    match action {
                        NextAction::OfficialProgram => {
                            let class = if ctx.kiosk.is_some() { "notice outside" } else { class };
                            view! {
                                <OutsideLink
                                    ctx=ctx
                                    href=OFFICIAL_SITE
                                    label=action_label(action)
                                    class=class
                                />
                            }
                                .into_any()
                        }
                        _ => {
                            let run = move |_| match action {
                                NextAction::TryAgain => dispatch.send(UserAction::TryAgain),
                                NextAction::ChooseReader => dispatch.send(UserAction::ChooseReader),
                                NextAction::StartOver => dispatch.send(UserAction::StartOver),
                                NextAction::Counter => ctx.show_info.set(true),
                                NextAction::Reload => platform::reload_page(),
                                NextAction::OfficialProgram => {}
                            };
                            view! {
                                <button
                                    type="button"
                                    class=class
                                    disabled=move || busy.get()
                                    on:click=run
                                >
                                    {label}
                                </button>
                            }
                                .into_any()
                        }
                    }
                })
                .collect_view()}
        </div>
    }
}
