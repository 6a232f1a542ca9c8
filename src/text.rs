//! Text shared between findings: their messages, help and labels, their fixes' titles and what
//! their edits put in.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// The text of a finding: its message, help and labels, its fix's title and what its edits put
/// in. A file's findings repeat their texts (a rule's help is the same on every line it fires
/// on, a message quotes the same command): while a file is linted ([`Text::sharing`]), equal
/// texts made on the thread are one allocation, so that a finding costs its own fields and
/// not its words.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Arc<str>);

thread_local! {
    static SHARED: RefCell<Option<HashSet<Arc<str>>>> = const { RefCell::new(None) };
}

impl Text {
    pub fn new(text: &str) -> Text {
        SHARED.with(|shared| match shared.borrow_mut().as_mut() {
            Some(set) => match set.get(text) {
                Some(known) => Text(known.clone()),
                None => {
                    let made: Arc<str> = Arc::from(text);
                    set.insert(made.clone());
                    Text(made)
                }
            },
            None => Text(Arc::from(text)),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Equal texts made on this thread are shared until the guard drops (the engine holds one
    /// while it lints a file). Inside another guard it does nothing.
    pub fn sharing() -> Sharing {
        let started = SHARED.with(|shared| {
            let mut shared = shared.borrow_mut();
            let started = shared.is_none();
            shared.get_or_insert_with(HashSet::new);
            started
        });
        Sharing { started }
    }
}

/// While it lives, equal [`Text`]s made on its thread are shared.
pub struct Sharing {
    started: bool,
}

impl Drop for Sharing {
    fn drop(&mut self) {
        if self.started {
            SHARED.with(|shared| shared.borrow_mut().take());
        }
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        Text::new(text)
    }
}

impl From<&String> for Text {
    fn from(text: &String) -> Text {
        Text::new(text)
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text::new(&text)
    }
}

impl From<&Text> for Text {
    fn from(text: &Text) -> Text {
        text.clone()
    }
}

impl From<Text> for String {
    fn from(text: Text) -> String {
        text.0.to_string()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}
