//! A reader that cannot be used here: exactly what works instead.

use leptos::prelude::*;

use super::actions::NextActions;
use super::{PageContext, PAGE_TITLE_ID};
use crate::flow::{Deployment, NextAction, ReaderProblem};
use crate::i18n::Key;

/// The guidance for a reader the page could not open.
#[component]
pub fn GuidancePage(
    ctx: PageContext,
    problem: ReaderProblem,
    deployment: Deployment,
) -> impl IntoView {
    let actions = vec![
        NextAction::ChooseReader,
        NextAction::Counter,
        NextAction::OfficialProgram,
    ];
    let body = match problem {
        ReaderProblem::ProtectedInterface => view! {
            <h1 id=PAGE_TITLE_ID tabindex="-1">{ctx.text(Key::GuidanceProtectedTitle)}</h1>
            <p class="notice warning" role="alert">{ctx.text(Key::GuidanceProtectedExplanation)}</p>
            <ul class="options">
                <li>{ctx.text(Key::GuidanceOtherReader)}</li>
                <li>{ctx.text(Key::GuidanceKiosk)}</li>
                <li>{ctx.text(Key::GuidanceCounter)}</li>
            </ul>
            {(deployment == Deployment::Unrestricted)
                .then(|| view! { <p class="notice">{ctx.text(Key::GuidanceKioskStaff)}</p> })}
        }
        .into_any(),
        ReaderProblem::HeldByOperatingSystem { detail } => view! {
            <h1 id=PAGE_TITLE_ID tabindex="-1">{ctx.text(Key::GuidanceHeldTitle)}</h1>
            <p class="notice warning" role="alert">{ctx.text(Key::GuidanceHeldExplanation)}</p>
            <ul class="options">
                <li>{ctx.text(Key::OsHintWindows)}</li>
                <li>{ctx.text(Key::OsHintLinux)}</li>
                <li>{ctx.text(Key::OsHintMac)}</li>
            </ul>
            <details class="detail">
                <summary>{ctx.text(Key::TechnicalDetail)}</summary>
                <p><code>{detail}</code></p>
            </details>
        }
        .into_any(),
        ReaderProblem::UnsupportedReader { detail } => view! {
            <h1 id=PAGE_TITLE_ID tabindex="-1">{ctx.text(Key::GuidanceUnsupportedTitle)}</h1>
            <p class="notice warning" role="alert">{ctx.text(Key::GuidanceUnsupportedExplanation)}</p>
            <details class="detail">
                <summary>{ctx.text(Key::TechnicalDetail)}</summary>
                <p><code>{detail}</code></p>
            </details>
        }
        .into_any(),
    };
    view! {
        {body}
        <NextActions ctx=ctx actions=actions />
    }
}
