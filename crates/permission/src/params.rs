//! Reading a resource's parameters out of a [`GenericScope`], with the rules every resource
//! shares: no unknown parameter names, the positional parameter not also given by name, single
//! values where the spec says "string" and not "array".

use crate::error::ScopeError;
use crate::grammar::GenericScope;

/// One resource's parameter schema: its name, its parameter names, and which one is positional.
pub(crate) struct Schema {
    pub resource: &'static str,
    pub params: &'static [&'static str],
    pub positional: &'static str,
}

impl Schema {
    /// Refuses parameters outside the schema ("Authorization Servers and Resource Servers must
    /// ignore any individual permission declarations [...] that include unexpected parameter
    /// names": a parameter this crate does not understand might attenuate the permission).
    pub fn check_names(&self, g: &GenericScope) -> Result<(), ScopeError> {
        match g
            .params
            .iter()
            .find(|(name, _)| !self.params.contains(&name.as_str()))
        {
            Some((name, _)) => Err(ScopeError::UnknownParam {
                resource: self.resource,
                param: name.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Every value of `param`, taking the positional part if `param` is the positional one.
    /// Empty when the parameter is absent.
    pub fn multi<'a>(
        &self,
        g: &'a GenericScope,
        param: &'static str,
    ) -> Result<Vec<&'a str>, ScopeError> {
        let named: Vec<&str> = g.values(param).collect();
        if param == self.positional {
            if let Some(positional) = &g.positional {
                if !named.is_empty() {
                    return Err(ScopeError::PositionalAndNamed {
                        resource: self.resource,
                        param,
                    });
                }
                return Ok(vec![positional.as_str()]);
            }
        }
        Ok(named)
    }

    /// The single value of `param`, if present.
    pub fn single<'a>(
        &self,
        g: &'a GenericScope,
        param: &'static str,
    ) -> Result<Option<&'a str>, ScopeError> {
        let values = self.multi(g, param)?;
        match values.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            _ => Err(ScopeError::RepeatedParam {
                resource: self.resource,
                param,
            }),
        }
    }

    /// The single value of a required `param`.
    pub fn required<'a>(
        &self,
        g: &'a GenericScope,
        param: &'static str,
    ) -> Result<&'a str, ScopeError> {
        self.single(g, param)?.ok_or(self.missing(param))
    }

    /// The values of a required array `param`.
    pub fn required_multi<'a>(
        &self,
        g: &'a GenericScope,
        param: &'static str,
    ) -> Result<Vec<&'a str>, ScopeError> {
        let values = self.multi(g, param)?;
        if values.is_empty() {
            return Err(self.missing(param));
        }
        Ok(values)
    }

    fn missing(&self, param: &'static str) -> ScopeError {
        ScopeError::MissingParam {
            resource: self.resource,
            param,
        }
    }
}

/// Builds the normalised scope string for a resource: the positional parameter goes in the
/// positional slot when it has exactly one value, else every value is a named parameter; other
/// parameters follow in schema order.
pub(crate) fn format(
    resource: &str,
    positional_name: &str,
    params: Vec<(&str, Vec<String>)>,
) -> GenericScope {
    let mut out = GenericScope {
        resource: resource.to_owned(),
        positional: None,
        params: Vec::new(),
    };
    for (name, values) in params {
        if name == positional_name && values.len() == 1 {
            out.positional = values.into_iter().next();
        } else {
            out.params
                .extend(values.into_iter().map(|v| (name.to_owned(), v)));
        }
    }
    out
}
