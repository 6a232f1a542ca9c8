//! `layerwise man`: the manual page, in roff, from the clap command line. To stdout, or with
//! `--dir DIR` one page per command written there (`layerwise.1`, `layerwise-lint.1`, …), as
//! packagers install them into `share/man/man1`.

use clap::CommandFactory;

use super::Exit;
use crate::cli::{Cli, ManArgs};
use crate::fsutil::write_atomic;

pub fn run(args: &ManArgs) -> Exit {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let Some(dir) = &args.dir else {
        let mut out = Vec::new();
        return match clap_mangen::Man::new(command)
            .render(&mut out)
            .and_then(|()| std::io::Write::write_all(&mut std::io::stdout(), &out))
        {
            Ok(()) => Exit::Clean,
            Err(e) => {
                eprintln!("error: cannot write the man page: {e}");
                Exit::Trouble
            }
        };
    };
    if !dir.is_dir() {
        eprintln!("error: --dir {}: not a folder", dir.display());
        return Exit::Trouble;
    }
    let pages = std::iter::once(command.clone()).chain(
        command
            .get_subcommands()
            .filter(|c| !c.is_hide_set())
            .cloned(),
    );
    for page in pages {
        let man = clap_mangen::Man::new(page);
        let path = dir.join(man.get_filename());
        let mut text = Vec::new();
        let written = man
            .render(&mut text)
            .map_err(|e| e.to_string())
            .and_then(|()| write_atomic(&path, &text).map_err(|e| e.to_string()));
        match written {
            Ok(()) => eprintln!("wrote {}", crate::discover::display_path(&path)),
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Trouble;
            }
        }
    }
    Exit::Clean
}
