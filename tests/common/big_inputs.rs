//! Big inputs, made on the fly, for the bad-input tests and the speed bench (which includes
//! this file by path).
#![allow(dead_code)]

/// A typical stage of about 1 KiB, numbered: comments, a long RUN chain, ENV, LABEL, COPY,
/// and two findings (apt lists kept, recommends installed).
pub fn typical_stage(n: usize) -> String {
    format!(
        "# stage {n}: build the service\n\
         FROM debian:bookworm-slim AS s{n}\n\
         ARG VERSION_{n}=1.{n}\n\
         ENV APP_HOME=/srv/app{n} \\\n    LANG=C.UTF-8 \\\n    PATH=/srv/app{n}/bin:$PATH\n\
         LABEL org.opencontainers.image.title=\"service {n}\" \\\n      org.opencontainers.image.version=\"$VERSION_{n}\"\n\
         RUN apt-get update \\\n    && apt-get install -y ca-certificates curl git \\\n    && curl -fsSL https://example.com/{n}.tar.gz -o /tmp/a.tgz \\\n    && tar -xzf /tmp/a.tgz -C /opt \\\n    && rm /tmp/a.tgz\n\
         WORKDIR /srv/app{n}\n\
         COPY --chown=app:app bin/ ./bin/\n\
         RUN set -eux; \\\n    for f in ./bin/*; do chmod +x \"$f\"; done; \\\n    ./bin/check --quiet || exit 1\n\
         EXPOSE 80{n:02}\n\
         USER app\n\
         CMD [\"./bin/serve\", \"--port\", \"80\"]\n\n"
    )
}

/// About `size` bytes of typical stages: what a huge real file looks like.
pub fn typical(size: usize) -> String {
    let mut text = String::with_capacity(size + 2048);
    let mut n = 0;
    while text.len() < size {
        text.push_str(&typical_stage(n));
        n += 1;
    }
    text
}

/// About `size` bytes of one-line RUNs that each break two rules: the worst case for the
/// report, about 45 findings per KiB (real files have about 0.4).
pub fn dense(size: usize) -> String {
    let line = "RUN apt-get update && apt-get install -y curl\n";
    let mut text = String::from("FROM debian:bookworm-slim\n");
    text.push_str(&line.repeat(size / line.len()));
    text
}

/// `count` lines of short instructions, comments and blank lines, and last a RUN with a
/// finding on line `count`.
pub fn lines(count: usize) -> String {
    let mut text = String::from("FROM debian:bookworm-slim\n");
    for line in 2..count {
        text.push_str(match line % 5 {
            0 => "# a comment line\n",
            1 => "ENV A=1 B=\"two words\"\n",
            2 => "LABEL x=y\n",
            3 => "WORKDIR /srv\n",
            _ => "\n",
        });
    }
    text.push_str("RUN apt-get install -y curl\n");
    text
}

/// One RUN continued over `count` lines, that keeps the apt lists (one finding).
pub fn continuation(count: usize) -> String {
    let mut text = String::from("FROM debian:bookworm-slim\nRUN apt-get update \\\n");
    for i in 0..count {
        text.push_str(&format!("    && echo step-{i} \\\n"));
    }
    text.push_str("    && apt-get install -y --no-install-recommends curl\n");
    text
}
