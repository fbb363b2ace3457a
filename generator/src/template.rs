//! Failures of the embedded Tera templates (module READMEs, workflows).
//! They are internal errors: the templates ship inside the binary, so a
//! failure is a bug, reported as `error: internal: ...` (exit 2, through
//! `project::Error::Internal`) rather than a panic.

use std::error::Error as _;

/// An embedded template failed to parse or to render.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template {template} failed to {stage}: {message}")]
pub struct TemplateError {
    /// The template's name, e.g. `atlantis.yaml`.
    pub template: String,
    /// `parse` or `render`.
    pub stage: &'static str,
    /// Tera's error with its causes, `: `-separated.
    pub message: String,
}

impl TemplateError {
    /// A parse failure of `template`.
    pub fn parse(template: &str, e: &tera::Error) -> Self {
        Self::new(template, "parse", e)
    }

    /// A render failure of `template`.
    pub fn render(template: &str, e: &tera::Error) -> Self {
        Self::new(template, "render", e)
    }

    fn new(template: &str, stage: &'static str, e: &tera::Error) -> Self {
        let mut message = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        TemplateError {
            template: template.to_owned(),
            stage,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_errors_are_internal_errors_with_their_causes() {
        let mut t = tera::Tera::default();
        let e = t.add_raw_template("x", "{{ broken").unwrap_err();
        let err = TemplateError::parse("x", &e);
        assert_eq!((err.template.as_str(), err.stage), ("x", "parse"));
        assert!(err.message.contains("x"), "{err}");
        let e = tera::Tera::one_off("{{ missing }}", &tera::Context::new(), false).unwrap_err();
        let err = TemplateError::render("y", &e);
        assert!(err.message.contains("missing"), "{err}");
        assert!(
            err.to_string().starts_with("template y failed to render: "),
            "{err}"
        );
    }
}
