//! The kiosk's on-screen keypad (a kiosk may have no keyboard). It types into the form's own
//! fields as a keyboard would — the value changes and an `input` event follows — so the
//! form's checks and messages are the same whichever is used, and the PIN still goes only
//! from its field into the card's PIN when the form is sent.

use leptos::ev;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use zeroize::Zeroizing;

use super::PageContext;
use crate::i18n::Key;

/// The field that takes letters as well as digits (the ID number's first letter).
const LETTER_FIELD: &str = "national-id";
const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "1234567890";

#[derive(Clone, Copy)]
enum Edit {
    Type(char),
    Delete,
    Clear,
}

/// A keypad for the fields with ids `fields`, in the form's order; it types into the one
/// focused last (at first `fields[0]`).
#[component]
pub fn Keypad(ctx: PageContext, fields: &'static [&'static str]) -> impl IntoView {
    let target = RwSignal::new(fields.first().copied().unwrap_or_default());
    let listener = window_event_listener_untyped("focusin", move |event| {
        let focused = event
            .target()
            .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
            .map(|element| element.id());
        if let Some(field) = fields
            .iter()
            .find(|field| Some(**field) == focused.as_deref())
        {
            target.set(field);
        }
    });
    on_cleanup(move || listener.remove());

    // One handler for every key: the key says what it does in `data-key`.
    let press = move |event: ev::MouseEvent| {
        let key = event
            .target()
            .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
            .and_then(|element| element.get_attribute("data-key"));
        let field = target.get_untracked();
        match key.as_deref() {
            Some("delete") => edit_field(field, Edit::Delete),
            Some("clear") => edit_field(field, Edit::Clear),
            Some("next") => {
                let at = fields.iter().position(|known| *known == field);
                let following = at.map_or(0, |at| (at + 1) % fields.len().max(1));
                if let Some(next) = fields.get(following) {
                    target.set(next);
                    focus_field(next);
                }
            }
            Some(typed) => {
                if let Some(character) = typed.chars().next() {
                    edit_field(field, Edit::Type(character));
                }
            }
            None => {}
        }
    };
    let keys = |characters: &'static str| {
        characters
            .chars()
            .map(|character| {
                let (key, label) = (character.to_string(), character.to_string());
                view! { <button type="button" class="key" data-key=key>{label}</button> }
            })
            .collect_view()
    };
    view! {
        <div
            class="keypad"
            role="group"
            aria-label=ctx.text(Key::KeypadLabel)
            // The field keeps the focus (and its caret) while a key is pressed.
            on:pointerdown=|event| event.prevent_default()
            on:click=press
        >
            <div class="keypad-letters" hidden=move || target.get() != LETTER_FIELD>
                {keys(LETTERS)}
            </div>
            <div class="keypad-digits">
                {keys(DIGITS)}
                <button type="button" class="key wide" data-key="delete">{ctx.text(Key::KeypadDelete)}</button>
                <button type="button" class="key wide" data-key="clear">{ctx.text(Key::KeypadClear)}</button>
                <button type="button" class="key wide" data-key="next">{ctx.text(Key::KeypadNext)}</button>
            </div>
        </div>
    }
}

fn field(id: &str) -> Option<HtmlInputElement> {
    web_sys::window()?
        .document()?
        .get_element_by_id(id)?
        .dyn_into::<HtmlInputElement>()
        .ok()
}

fn focus_field(id: &str) {
    if let Some(input) = field(id) {
        let _ = input.focus();
    }
}

/// Edits the field `id` as typing would, and tells the form with an `input` event.
fn edit_field(id: &str, edit: Edit) {
    let Some(input) = field(id) else {
        return;
    };
    // It may be the PIN: the working copy is wiped.
    let mut value = Zeroizing::new(input.value());
    match edit {
        Edit::Type(character) => {
            let limit = usize::try_from(input.max_length()).unwrap_or(usize::MAX);
            if value.chars().count() < limit {
                value.push(character);
            }
        }
        Edit::Delete => {
            value.pop();
        }
        Edit::Clear => value.clear(),
    }
    input.set_value(&value);
    let init = web_sys::EventInit::new();
    // The page listens for `input` where it bubbles to.
    init.set_bubbles(true);
    if let Ok(event) = web_sys::Event::new_with_event_init_dict("input", &init) {
        let _ = input.dispatch_event(&event);
    }
    let _ = input.focus();
}
