//! Rolling upgrades: during one, the previous release's processes run against the new schema, so a
//! migration added after a release may only expand it (new tables, nullable or defaulted columns, new
//! indexes, wider checks). Statements that could break the previous release's queries — dropping or
//! renaming, changing a type, tightening or loosening NULL (the previous release may read the column as
//! always set), a column that inserts must now fill, a new constraint —
//! each need a justification comment on the line above: `-- expand-safe: <why the previous release is
//! unaffected>` or, in the release after the code stopped using something, `-- contract: <what the
//! previous release no longer reads or writes>`. docs/deploy.md, "Rolling upgrades".
use std::path::PathBuf;

/// The last migration of the first released schema (0.1.0). Everything after it is checked.
const RELEASED_THROUGH: &str = "20261208000001";

/// The statements of one migration file, each with the comment lines just above it.
fn statements(sql: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let (mut comments, mut body) = (String::new(), String::new());
    for line in sql.lines() {
        let trimmed = line.trim();
        if body.trim().is_empty() {
            if let Some(c) = trimmed.strip_prefix("--") {
                comments.push_str(c.trim());
                comments.push('\n');
                continue;
            }
            if trimmed.is_empty() {
                comments.clear();
                continue;
            }
        }
        let code = trimmed.split("--").next().unwrap_or_default();
        body.push_str(code);
        body.push(' ');
        // Dollar-quoted function bodies hold semicolons of their own: a statement ends at a `;` only
        // outside them.
        if code.trim_end().ends_with(';') && body.matches("$$").count() % 2 == 0 {
            out.push((std::mem::take(&mut comments), std::mem::take(&mut body)));
        }
    }
    if !body.trim().is_empty() {
        out.push((comments, body));
    }
    out
}

/// Why a statement could break the previous release, if it could.
fn risk(statement: &str) -> Option<&'static str> {
    let s = statement.to_ascii_uppercase().split_whitespace().collect::<Vec<_>>().join(" ");
    let has = |needle: &str| s.contains(needle);
    if has("DROP TABLE") || has("DROP COLUMN") || has("DROP INDEX") || has("DROP FUNCTION") || has("DROP TYPE") {
        Some("drops something the previous release may use")
    } else if has(" RENAME ") {
        Some("renames something the previous release names")
    } else if has(" TYPE ") && has("ALTER COLUMN") {
        Some("changes a column's type")
    } else if has("DROP NOT NULL") {
        Some("lets a column be empty that the previous release may read as always set")
    } else if has("SET NOT NULL") {
        Some("makes a column NOT NULL that the previous release may leave empty")
    } else if s.split("ADD COLUMN").skip(1).any(|clause| {
        let clause = clause.split(", ADD ").next().unwrap_or_default();
        clause.contains(" NOT NULL") && !clause.contains("IS NOT NULL") && !clause.contains("DEFAULT")
    }) {
        Some("adds a NOT NULL column without a default, which the previous release's inserts do not fill")
    } else if has("ADD CONSTRAINT") || has("CREATE UNIQUE INDEX") {
        Some("adds a constraint the previous release's writes may not meet")
    } else if has("DROP CONSTRAINT") {
        Some("drops a constraint (say what replaces it)")
    } else {
        None
    }
}

/// The table a `CREATE TABLE` makes.
fn created_table(statement: &str) -> Option<String> {
    let words: Vec<String> = statement.split_whitespace().map(|w| w.to_ascii_lowercase()).collect();
    let at = words.windows(2).position(|w| w[0] == "create" && w[1] == "table")? + 2;
    let name = if words.get(at).map(String::as_str) == Some("if") { words.get(at + 3) } else { words.get(at) };
    name.map(|n| n.trim_end_matches('(').to_owned())
}

/// The table an `ALTER TABLE` or `CREATE … INDEX … ON` acts on: one made in the same migration is new
/// to the previous release, so nothing done to it can break that release.
fn target_table(statement: &str) -> Option<String> {
    let words: Vec<String> = statement.split_whitespace().map(|w| w.to_ascii_lowercase()).collect();
    let after = |a: &str, b: &str| words.windows(2).position(|w| w[0] == a && w[1] == b).map(|i| i + 2);
    let at = after("alter", "table").or_else(|| words.iter().position(|w| w == "on").map(|i| i + 1))?;
    words.get(at).map(|n| n.split('(').next().unwrap_or_default().to_owned())
}

fn justified(comments: &str) -> bool {
    comments.lines().any(|l| {
        l.strip_prefix("expand-safe:").or_else(|| l.strip_prefix("contract:")).is_some_and(|why| why.trim().len() >= 10)
    })
}

#[test]
fn migrations_after_the_release_only_expand_the_schema_or_say_why_not() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(
        files.iter().any(|f| f.file_name().unwrap().to_string_lossy().starts_with(RELEASED_THROUGH)),
        "RELEASED_THROUGH names no migration: it must be the released schema's last one"
    );
    let mut problems = Vec::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let version = name.split('_').next().unwrap_or_default();
        if version <= RELEASED_THROUGH {
            continue;
        }
        let parsed = statements(&std::fs::read_to_string(&file).unwrap());
        let created: Vec<String> = parsed.iter().filter_map(|(_, s)| created_table(s)).collect();
        for (comments, statement) in parsed {
            if let Some(why) = risk(&statement)
                && !justified(&comments)
                && !target_table(&statement).is_some_and(|t| created.contains(&t))
            {
                problems.push(format!("{name}: `{}` {why}", statement.trim()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "migrations after the release that need an `-- expand-safe:` or `-- contract:` comment:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_tells_expanding_from_contracting() {
    let expands = [
        "CREATE TABLE t (id uuid PRIMARY KEY, n integer NOT NULL);",
        "ALTER TABLE events ADD COLUMN note text;",
        "ALTER TABLE events ADD COLUMN tries integer NOT NULL DEFAULT 0;",
        "ALTER TABLE events ADD COLUMN a text, ADD COLUMN b text CHECK (b IS NOT NULL OR a IS NULL);",
        "CREATE INDEX events_note ON events (note);",
    ];
    for s in expands {
        assert_eq!(risk(s), None, "{s}");
    }
    let contracts = [
        "ALTER TABLE events DROP COLUMN note;",
        "DROP TABLE old_things;",
        "ALTER TABLE events RENAME COLUMN note TO remark;",
        "ALTER TABLE events ALTER COLUMN attempt TYPE bigint;",
        "ALTER TABLE events ALTER COLUMN note SET NOT NULL;",
        "ALTER TABLE bulk_actions ALTER COLUMN tenant_id DROP NOT NULL;",
        "ALTER TABLE events ADD COLUMN must integer NOT NULL;",
        "ALTER TABLE events ADD CONSTRAINT c CHECK (attempt < 10);",
        "ALTER TABLE events DROP CONSTRAINT events_parked_reason_check;",
        "CREATE UNIQUE INDEX u ON events (note);",
    ];
    for s in contracts {
        assert!(risk(s).is_some(), "{s}");
    }
    let sql = "-- why this table\nCREATE TABLE a (x int);\n\n-- expand-safe: the old release never writes parked_reason\nALTER TABLE events DROP CONSTRAINT c;\nALTER TABLE events ADD CONSTRAINT c CHECK (x > 0);\nCREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;\n";
    let parsed = statements(sql);
    assert_eq!(parsed.len(), 4, "{parsed:?}");
    assert!(justified(&parsed[1].0) && risk(&parsed[1].1).is_some());
    assert!(!justified(&parsed[2].0) && risk(&parsed[2].1).is_some(), "a justification covers one statement");
    assert!(parsed[3].1.contains("END; $$ LANGUAGE"), "a function body is one statement: {:?}", parsed[3].1);
    assert!(!justified("expand-safe: ok\n"), "a justification says why");
    assert_eq!(created_table("CREATE TABLE IF NOT EXISTS accounts (id uuid)").as_deref(), Some("accounts"));
    assert_eq!(target_table("CREATE UNIQUE INDEX k ON accounts (lower(email))").as_deref(), Some("accounts"));
    assert_eq!(target_table("ALTER TABLE events DROP COLUMN x").as_deref(), Some("events"));
    assert!(justified("expand-safe: the previous release never reads it\n"));
}
