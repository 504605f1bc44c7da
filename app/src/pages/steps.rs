//! Where the user is among the five steps.

use leptos::prelude::*;

use super::PageContext;
use crate::flow::FlowState;
use crate::i18n::Key;

const STEPS: [Key; 5] = [
    Key::StepConnect,
    Key::StepCard,
    Key::StepIdentity,
    Key::StepRenew,
    Key::StepFinish,
];

/// The step a state belongs to (0-based); `None` for pages outside the steps.
fn step_of(state: &FlowState) -> Option<usize> {
    match state {
        FlowState::Start | FlowState::ChoosingReader | FlowState::ReaderGuidance { .. } => Some(0),
        FlowState::InsertCard(_) | FlowState::ReadingCard | FlowState::Card(_) => Some(1),
        FlowState::Identity(_) => Some(2),
        FlowState::Renewing(_) => Some(3),
        FlowState::Done(_) => Some(4),
        FlowState::Unsupported(_) | FlowState::Failed(_) => None,
    }
}

/// The steps, the current one marked (`aria-current="step"`).
#[component]
pub fn StepsNav(ctx: PageContext) -> impl IntoView {
    let current = move || step_of(&ctx.flow.state.get());
    // Pages outside the steps (this browser cannot renew, a problem) show no steps.
    view! {
        <nav class="steps" hidden=move || current().is_none() aria-label=ctx.text(Key::StepsLabel)>
            <ol>
                {STEPS
                    .iter()
                    .enumerate()
                    .map(|(index, &key)| {
                        let is_current = move || current() == Some(index);
                        let is_done = move || current().is_some_and(|now| index < now);
                        view! {
                            <li
                                class:current=is_current
                                class:done=is_done
                                aria-current=move || is_current().then_some("step")
                            >
                                <span class="step-number" aria-hidden="true">
                                    {index + 1}
                                </span>
                                <span class="step-name">{ctx.text(key)}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </nav>
    }
}
