//! The layers of an environment, in apply order (destroy in reverse), and
//! the two regional ones as the sides of the active-passive pair.

use std::fmt;

/// One layer: a reusable module (`modules/<layer>`) and, per environment,
/// a root (`envs/<env>/<layer>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    Primary,
    Dr,
    Global,
}

impl Layer {
    /// Every layer, in apply order.
    pub const ALL: [Layer; 3] = [Layer::Primary, Layer::Dr, Layer::Global];

    /// `primary`, `dr` or `global`: the layer, module and directory name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Layer::Primary => "primary",
            Layer::Dr => "dr",
            Layer::Global => "global",
        }
    }

    /// The layer of a name, if it is one.
    pub fn parse(s: &str) -> Option<Layer> {
        Layer::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// The side of the pair, for a regional layer.
    pub const fn role(self) -> Option<Role> {
        match self {
            Layer::Primary => Some(Role::Primary),
            Layer::Dr => Some(Role::Dr),
            Layer::Global => None,
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for Layer {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Layer {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A regional layer: which side of the active-passive pair a regional
/// module is. The layer restricted to `Primary` and `Dr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Primary,
    Dr,
}

impl Role {
    /// The layer this side is.
    pub const fn layer(self) -> Layer {
        match self {
            Role::Primary => Layer::Primary,
            Role::Dr => Layer::Dr,
        }
    }

    /// `primary` or `dr`: the layer and module name.
    pub const fn as_str(self) -> &'static str {
        self.layer().as_str()
    }
}

impl From<Role> for Layer {
    fn from(r: Role) -> Layer {
        r.layer()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_apply_order() {
        let names: Vec<&str> = Layer::ALL.iter().map(|l| l.as_str()).collect();
        assert_eq!(names, ["primary", "dr", "global"]);
        for l in Layer::ALL {
            assert_eq!(Layer::parse(l.as_str()), Some(l));
            assert_eq!(l.to_string(), l.as_str());
            assert!(l == l.as_str());
            assert_eq!(l.role().map(Role::layer), l.role().map(|_| l));
        }
        assert_eq!(Layer::parse("west"), None);
        assert_eq!(Role::Dr.as_str(), "dr");
        assert_eq!(Layer::from(Role::Primary), Layer::Primary);
    }
}
