//! Renewing: sign, issue, write, verify, with "do not remove the card".

use leptos::prelude::*;

use super::{PageContext, PAGE_TITLE_ID};
use crate::flow::{Renewing, RenewingStep};
use crate::i18n::Key;

fn step_name(step: RenewingStep) -> Key {
    match step {
        RenewingStep::Sign => Key::StepSign,
        RenewingStep::Issue => Key::StepIssue,
        RenewingStep::Write => Key::StepWrite,
        RenewingStep::Verify => Key::StepVerify,
    }
}

/// The renewal's progress.
#[component]
pub fn RenewingPage(ctx: PageContext, renewing: Renewing) -> impl IntoView {
    let current = renewing.step;
    view! {
        <h1 id=PAGE_TITLE_ID tabindex="-1">{ctx.text(Key::RenewingTitle)}</h1>
        {renewing
            .resuming
            .then(|| view! { <p class="lead">{ctx.text(Key::RenewingResuming)}</p> })}
        <p class="notice danger" role="alert">
            <strong>{ctx.text(Key::DoNotRemoveCard)}</strong>
        </p>
        <ol class="progress-steps" aria-live="polite">
            {RenewingStep::ALL
                .into_iter()
                .map(|step| {
                    let (status, class) = if step < current {
                        (Key::StepStatusDone, "done")
                    } else if step == current {
                        (Key::StepStatusRunning, "current")
                    } else {
                        (Key::StepStatusWaiting, "waiting")
                    };
                    view! {
                        <li class=class aria-current=(step == current).then_some("step")>
                            <span class="step-name">{ctx.text(step_name(step))}</span>
                            <span class="step-status">
                                {if step == current {
                                    Some(view! { <span class="spinner" aria-hidden="true"></span> })
                                } else {
                                    None
                                }}
                                {ctx.text(status)}
                            </span>
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
}
