//! Rule loading errors: each one says where (file, line, column, key path) and what.

use std::fmt;

/// One problem in a rule file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// The key path inside the rule (`where.user.name`, `steps[1].min_count`); `[2].` in
    /// front for the third rule of a file holding a list of rules; `yaml` for syntax errors.
    pub path: String,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}: {}", self.file, self.line, self.column, self.path, self.message)
    }
}

/// Every problem found while loading rule files, in file order then position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadErrors(pub Vec<RuleError>);

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadErrors {}
