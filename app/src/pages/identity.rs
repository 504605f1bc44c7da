//! Identity: ID number and birthday with live, specific messages; the PIN with tries left.
//! The PIN is read from its field only when the form is sent, turned into a [`Pin`] (wiped on
//! drop) and the field cleared: it never sits in a signal.

use card::Pin;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use zeroize::Zeroizing;

use super::keypad::Keypad;
use super::{PageContext, PAGE_TITLE_ID};
use crate::controller::UserAction;
use crate::flow::identity::{check_birthday, check_national_id, pin_error_message, Typing};
use crate::flow::{IdentityPurpose, IdentityStep, PinStatus};
use crate::i18n::{Arg, Key, Message};

/// Which field takes the focus when the form is shown again.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    NationalId,
    Birthday,
    Pin,
}

/// The identity form, or the PIN alone to finish a pending renewal.
#[component]
pub fn IdentityPage(
    ctx: PageContext,
    step: IdentityStep,
    national_id: RwSignal<String>,
    birthday: RwSignal<String>,
) -> impl IntoView {
    let dispatch = ctx.flow.dispatch;
    let busy = ctx.flow.busy;
    let language = ctx.language;
    let finishing = step.purpose == IdentityPurpose::FinishPending;
    // A kiosk types with its own keypad; no system keyboard is called up over it.
    let kiosk = ctx.kiosk.is_some();
    let input_mode = kiosk.then_some("none");

    let id_typing = RwSignal::new(Typing::InProgress);
    let birthday_typing = RwSignal::new(Typing::InProgress);
    // The flow's verdict on the last sending holds until the field is changed.
    let id_refusal = RwSignal::new(step.national_id_error.clone());
    let birthday_refusal = RwSignal::new(step.birthday_error.clone());
    let pin_message = RwSignal::new(step.pin_error.clone());
    let pin_input = NodeRef::<leptos::html::Input>::new();
    // Set when the form was not sent because a field is wrong.
    let blocked = RwSignal::new(false);

    let focus = if finishing {
        Field::Pin
    } else if step.national_id_error.is_some() || step.form_error.is_some() {
        Field::NationalId
    } else if step.birthday_error.is_some() {
        Field::Birthday
    } else if step.pin_error.is_some() {
        Field::Pin
    } else {
        Field::NationalId
    };
    let autofocus = move |field: Field| (focus == field).then_some("");

    let id_message = move || {
        id_refusal
            .get()
            .or_else(|| check_national_id(&national_id.get(), id_typing.get()))
    };
    let birthday_message = move || {
        birthday_refusal
            .get()
            .map(Err)
            .or_else(|| check_birthday(&birthday.get(), birthday_typing.get()))
    };
    let render = move |message: Message| message.render(language.get());

    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        let typed_pin = Zeroizing::new(
            pin_input
                .get_untracked()
                .map(|input| input.value())
                .unwrap_or_default(),
        );
        if let Some(input) = pin_input.get_untracked() {
            input.set_value("");
        }
        let pin = match Pin::new(&typed_pin) {
            Ok(pin) => pin,
            Err(error) => return pin_message.set(Some(pin_error_message(&error))),
        };
        if finishing {
            return dispatch.send(UserAction::SubmitPin(pin));
        }
        id_typing.set(Typing::Finished);
        birthday_typing.set(Typing::Finished);
        let id_wrong = check_national_id(&national_id.get_untracked(), Typing::Finished).is_some();
        let birthday_wrong = !matches!(
            check_birthday(&birthday.get_untracked(), Typing::Finished),
            Some(Ok(_))
        );
        if id_wrong || birthday_wrong {
            // Mistakes are shown by the fields; the PIN is dropped (wiped), not sent.
            return blocked.set(true);
        }
        blocked.set(false);
        dispatch.send(UserAction::SubmitIdentity {
            national_id: national_id.get_untracked(),
            birthday: birthday.get_untracked(),
            pin,
        });
    };

    let (title, intro, submit_label) = match step.purpose {
        IdentityPurpose::FinishPending => (
            Key::FinishPendingTitle,
            Key::FinishPendingIntro,
            Key::FinishPendingSubmit,
        ),
        IdentityPurpose::Resume => (
            Key::FinishPendingTitle,
            Key::ResumeIntro,
            Key::FinishPendingSubmit,
        ),
        IdentityPurpose::Renew => (Key::IdentityTitle, Key::IdentityIntro, Key::IdentitySubmit),
    };
    let tries = match step.pin_status {
        PinStatus::TriesLeft(tries) => {
            Message::new(Key::PinTriesLeft).with("n", Arg::Number(i64::from(tries)))
        }
        PinStatus::Verified => Message::new(Key::PinAlreadyVerified),
    };
    let holder = format!(
        "{} · {}",
        step.overview.holder_name, step.overview.card_number
    );

    let identity_fields = (!finishing).then(|| {
        view! {
            <div class="field" class:invalid=move || id_message().is_some()>
                <label for="national-id">{ctx.text(Key::NationalIdLabel)}</label>
                <p id="national-id-hint" class="hint">{ctx.text(Key::NationalIdHint)}</p>
                <input
                    id="national-id"
                    name="national-id"
                    type="text"
                    autocomplete="off"
                    inputmode=input_mode
                    autocapitalize="characters"
                    spellcheck="false"
                    maxlength="14"
                    required
                    data-autofocus=autofocus(Field::NationalId)
                    aria-describedby="national-id-hint national-id-message"
                    aria-invalid=move || if id_message().is_some() { "true" } else { "false" }
                    prop:value=move || national_id.get()
                    on:input=move |event| {
                        national_id.set(event_target_value(&event));
                        id_refusal.set(None);
                    }
                    on:blur=move |_| id_typing.set(Typing::Finished)
                />
                <p id="national-id-message" class="field-message error" aria-live="polite">
                    {move || id_message().map(render)}
                </p>
            </div>
            <div
                class="field"
                class:invalid=move || matches!(birthday_message(), Some(Err(_)))
            >
                <label for="birthday">{ctx.text(Key::BirthdayLabel)}</label>
                <p id="birthday-hint" class="hint">{ctx.text(Key::BirthdayHint)}</p>
                <input
                    id="birthday"
                    name="birthday"
                    type="text"
                    autocomplete="off"
                    inputmode=input_mode
                    spellcheck="false"
                    maxlength="20"
                    required
                    data-autofocus=autofocus(Field::Birthday)
                    aria-describedby="birthday-hint birthday-message"
                    aria-invalid=move || {
                        if matches!(birthday_message(), Some(Err(_))) { "true" } else { "false" }
                    }
                    prop:value=move || birthday.get()
                    on:input=move |event| {
                        birthday.set(event_target_value(&event));
                        birthday_refusal.set(None);
                    }
                    on:blur=move |_| birthday_typing.set(Typing::Finished)
                />
                <p
                    id="birthday-message"
                    class=move || match birthday_message() {
                        Some(Ok(_)) => "field-message ok",
                        _ => "field-message error",
                    }
                    aria-live="polite"
                >
                    {move || {
                        birthday_message()
                            .map(|message| match message {
                                Ok(reading) => render(reading),
                                Err(error) => render(error),
                            })
                    }}
                </p>
            </div>
        }
    });

    view! {
        <h1 id=PAGE_TITLE_ID tabindex="-1">{ctx.text(title)}</h1>
        <p class="hint holder">{holder}</p>
        <p class="lead">{ctx.text(intro)}</p>
        {step
            .form_error
            .clone()
            .map(|error| view! { <p class="notice warning" role="alert">{ctx.message(error)}</p> })}
        <p class="notice warning" role="alert" hidden=move || !blocked.get()>
            {ctx.text(Key::FormHasErrors)}
        </p>
        <form class="identity" novalidate on:submit=submit>
            {identity_fields}
            <div class="field" class:invalid=move || pin_message.get().is_some()>
                <label for="pin">{ctx.text(Key::PinLabel)}</label>
                <p id="pin-hint" class="hint">{ctx.text(Key::PinHint)}</p>
                <p id="pin-tries" class="hint strong">{ctx.message(tries)}</p>
                <input
                    id="pin"
                    name="pin"
                    type="password"
                    autocomplete="off"
                    inputmode=input_mode
                    spellcheck="false"
                    maxlength="8"
                    required
                    node_ref=pin_input
                    data-autofocus=autofocus(Field::Pin)
                    aria-describedby="pin-hint pin-tries pin-message"
                    aria-invalid=move || if pin_message.get().is_some() { "true" } else { "false" }
                    on:input=move |_| pin_message.set(None)
                />
                <p id="pin-message" class="field-message error" role="alert">
                    {move || pin_message.get().map(render)}
                </p>
            </div>
            {kiosk.then(|| {
                let fields: &'static [&'static str] = if finishing {
                    &["pin"]
                } else {
                    &["national-id", "birthday", "pin"]
                };
                view! { <Keypad ctx=ctx fields=fields /> }
            })}
            <div class="actions">
                <button type="submit" class="button primary" disabled=move || busy.get()>
                    {ctx.text(submit_label)}
                </button>
            </div>
            <p class="hint" role="status">
                {move || {
                    busy.get()
                        .then(|| view! {
                            <span class="spinner" aria-hidden="true"></span>
                            {ctx.text(Key::Working)}
                        })
                }}
            </p>
        </form>
    }
}
