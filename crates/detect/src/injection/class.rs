//! Attack classes the injection detector knows, and a small copyable set of them.

use std::fmt;

/// A class of injection attack, named as rules name it (`attack: [sqli, xss]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttackClass {
    /// SQL injection.
    Sqli,
    /// Cross-site scripting.
    Xss,
    /// OS command injection (shell metacharacters followed by a command, `${IFS}` tricks,
    /// server-side includes that execute commands).
    Cmdi,
    /// Path traversal: `../` reaching above the root, or absolute paths to OS files.
    PathTraversal,
    /// Server-side template injection (`{{7*7}}`, `${…}`, `<%= %>`, …).
    Ssti,
    /// NoSQL (MongoDB) operator and JavaScript injection.
    Nosql,
    /// Server-side request forgery: URLs to loopback, private or cloud-metadata targets.
    Ssrf,
    /// Log4Shell-style JNDI lookups (`${jndi:…}` with its obfuscations).
    Jndi,
    /// CRLF injection / HTTP response splitting.
    Crlf,
}

impl AttackClass {
    /// Every class, in the order of their bits in [`AttackSet`].
    pub const ALL: [AttackClass; 9] = [
        AttackClass::Sqli,
        AttackClass::Xss,
        AttackClass::Cmdi,
        AttackClass::PathTraversal,
        AttackClass::Ssti,
        AttackClass::Nosql,
        AttackClass::Ssrf,
        AttackClass::Jndi,
        AttackClass::Crlf,
    ];

    /// The name rules use.
    pub fn as_str(self) -> &'static str {
        match self {
            AttackClass::Sqli => "sqli",
            AttackClass::Xss => "xss",
            AttackClass::Cmdi => "cmdi",
            AttackClass::PathTraversal => "path_traversal",
            AttackClass::Ssti => "ssti",
            AttackClass::Nosql => "nosql",
            AttackClass::Ssrf => "ssrf",
            AttackClass::Jndi => "jndi",
            AttackClass::Crlf => "crlf",
        }
    }

    /// The class a rule names, `None` for a name the detector does not know.
    pub fn parse(name: &str) -> Option<AttackClass> {
        AttackClass::ALL.into_iter().find(|c| c.as_str() == name)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for AttackClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of attack classes (a bitset: copying and testing it costs nothing).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AttackSet(u16);

impl AttackSet {
    /// No class.
    pub const EMPTY: AttackSet = AttackSet(0);
    /// Every class.
    pub const ALL: AttackSet = AttackSet((1 << AttackClass::ALL.len()) - 1);

    /// The set holding exactly one class.
    pub fn of(class: AttackClass) -> AttackSet {
        AttackSet(class.bit())
    }
    pub fn contains(self, class: AttackClass) -> bool {
        self.0 & class.bit() != 0
    }
    pub fn insert(&mut self, class: AttackClass) {
        self.0 |= class.bit();
    }
    pub fn remove(&mut self, class: AttackClass) {
        self.0 &= !class.bit();
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }
    /// Classes in both sets.
    pub fn intersection(self, other: AttackSet) -> AttackSet {
        AttackSet(self.0 & other.0)
    }
    /// Classes in either set.
    pub fn union(self, other: AttackSet) -> AttackSet {
        AttackSet(self.0 | other.0)
    }
    /// Classes in this set and not in `other`.
    pub fn difference(self, other: AttackSet) -> AttackSet {
        AttackSet(self.0 & !other.0)
    }
    /// The classes in the set, in [`AttackClass::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = AttackClass> {
        AttackClass::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

impl From<AttackClass> for AttackSet {
    fn from(class: AttackClass) -> AttackSet {
        AttackSet::of(class)
    }
}

impl FromIterator<AttackClass> for AttackSet {
    fn from_iter<I: IntoIterator<Item = AttackClass>>(iter: I) -> AttackSet {
        let mut set = AttackSet::EMPTY;
        for class in iter {
            set.insert(class);
        }
        set
    }
}

impl fmt::Debug for AttackSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(AttackClass::as_str)).finish()
    }
}

impl fmt::Display for AttackSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, class) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(class.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for class in AttackClass::ALL {
            assert_eq!(AttackClass::parse(class.as_str()), Some(class));
        }
        assert_eq!(AttackClass::parse("path_traversal"), Some(AttackClass::PathTraversal));
        assert_eq!(AttackClass::parse("SQLI"), None);
        assert_eq!(AttackClass::parse("xxe"), None);
    }

    #[test]
    fn set_operations() {
        let mut set = AttackSet::EMPTY;
        assert!(set.is_empty());
        set.insert(AttackClass::Xss);
        set.insert(AttackClass::Crlf);
        assert!(set.contains(AttackClass::Xss) && set.contains(AttackClass::Crlf));
        assert!(!set.contains(AttackClass::Sqli));
        assert_eq!(set.len(), 2);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![AttackClass::Xss, AttackClass::Crlf]);
        assert_eq!(format!("{set}"), "xss,crlf");
        assert_eq!(
            set.difference(AttackSet::of(AttackClass::Xss)),
            AttackSet::of(AttackClass::Crlf)
        );
        set.remove(AttackClass::Xss);
        assert_eq!(set, AttackSet::of(AttackClass::Crlf));
        assert_eq!(AttackSet::ALL.len(), AttackClass::ALL.len());
        assert_eq!(AttackSet::ALL.iter().collect::<Vec<_>>(), AttackClass::ALL.to_vec());
    }
}
