//! A failure: what happened, why, what to do next (never a dead end).

use leptos::prelude::*;

use super::actions::NextActions;
use super::{PageContext, PAGE_TITLE_ID};
use crate::flow::Problem;
use crate::i18n::Key;

/// The problem page.
#[component]
pub fn ProblemPage(ctx: PageContext, problem: Problem) -> impl IntoView {
    view! {
        <h1 id=PAGE_TITLE_ID tabindex="-1">{ctx.message(problem.title)}</h1>
        <p class="notice warning" role="alert">{ctx.message(problem.explanation)}</p>
        <NextActions ctx=ctx actions=problem.actions />
        {problem
            .detail
            .map(|detail| {
                view! {
                    <details class="detail">
                        <summary>{ctx.text(Key::TechnicalDetail)}</summary>
                        <p><code>{detail}</code></p>
                    </details>
                }
            })}
    }
}
