//! The keys whose value is one of a few words, as enums: each word is written once, here, and
//! the schema's choice lists (the parser's "one of ..." and did-you-mean, the reference) and the
//! model's reading of the settings both come from it.

/// What a reader of settings needs of every enum of words.
pub trait Choice: Sized {
    fn from_name(word: &str) -> Option<Self>;
}

/// An enum of words: `ALL` and `NAMES` in the same order, `as_str` and `from_name` between them.
macro_rules! choices {
    ($(
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }
    )*) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in the order the schema lists them.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
            /// The words, in the order of [`Self::ALL`].
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The word in a definition file.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            pub fn from_name(word: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == word)
            }
        }

        impl Choice for $name {
            fn from_name(word: &str) -> Option<Self> {
                $name::from_name(word)
            }
        }
    )*};
}

choices! {
    /// `kind`; the model's [`super::model::Kind`] adds an image container's source.
    KindName {
        Host = "host",
        Image = "image",
    }

    /// `mode`.
    Mode {
        App = "app",
        Boot = "boot",
    }

    /// `filesystem.etc`.
    EtcMode {
        Persistent = "persistent",
        Volatile = "volatile",
        Host = "host",
    }

    /// `filesystem.var`.
    VarMode {
        Persistent = "persistent",
        Volatile = "volatile",
    }

    /// `network.mode`.
    Network {
        Host = "host",
        None = "none",
        Private = "private",
    }

    /// `security.seccomp`'s built-in profiles; any other value is a profile file's path.
    SeccompBuiltin {
        Default = "default",
        Unconfined = "unconfined",
    }

    /// `security.user_namespace`.
    UserNamespace {
        Off = "off",
        Auto = "auto",
    }

    /// `security.selinux`; the model's [`super::model::Selinux`] adds the label.
    SelinuxMode {
        Auto = "auto",
        Off = "off",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::schema::{self, Kind};
    use crate::definition::value::Scalar;

    /// Each enum's words and values map onto each other both ways, and the schema offers
    /// exactly its words.
    #[test]
    fn every_word_round_trips() {
        let mut checked: Vec<String> = Vec::new();
        macro_rules! check {
            ($($name:ident at [$($key:literal),*]),* $(,)?) => {$(
                assert_eq!($name::ALL.len(), $name::NAMES.len(), stringify!($name));
                for (value, word) in $name::ALL.iter().zip($name::NAMES) {
                    assert_eq!(value.as_str(), *word);
                    assert_eq!($name::from_name(word), Some(*value));
                }
                assert_eq!($name::from_name("nope"), None);
                let path: &[&str] = &[$($key),*];
                if !path.is_empty() {
                    checked.push(path.join("."));
                    match schema::find(path).map(|k| &k.kind) {
                        Some(Kind::Scalar(Scalar::Choice(words))) => {
                            assert_eq!(*words, $name::NAMES, "{path:?}")
                        }
                        _ => panic!("{path:?} is not a choice"),
                    }
                }
            )*};
        }
        check!(
            KindName at ["kind"],
            Mode at ["mode"],
            EtcMode at ["filesystem", "etc"],
            VarMode at ["filesystem", "var"],
            Network at ["network", "mode"],
            SeccompBuiltin at [],
            UserNamespace at ["security", "user_namespace"],
            SelinuxMode at ["security", "selinux"],
        );
        // No choice list in the schema is written out by hand.
        fn walk(keys: &'static [schema::Key], at: &str, out: &mut Vec<String>) {
            for k in keys {
                let path = if at.is_empty() {
                    k.name.to_owned()
                } else {
                    format!("{at}.{}", k.name)
                };
                match &k.kind {
                    Kind::Table(sub) => walk(sub, &path, out),
                    Kind::Scalar(Scalar::Choice(_)) => out.push(path),
                    _ => {}
                }
            }
        }
        let mut in_schema = Vec::new();
        walk(schema::ROOT, "", &mut in_schema);
        in_schema.sort();
        checked.sort();
        assert_eq!(in_schema, checked);
    }
}
