//! A BuildKit session of layerwise's own, for daemons whose BuildKit cannot read a context sent
//! as the build request's body.
//!
//! On the containerd image store the Engine hands the request's body to BuildKit at
//! `http://build-context-<id>`, a name only its graph-driver BuildKit knows how to serve
//! (moby/moby#47717): the build fails at once. BuildKit's own HTTP source serves another name
//! through the build's session instead: `http://buildkit-session/<path>` is pulled from the
//! session's upload service. So the context is offered there: the session is opened on the
//! daemon's `/session` (an HTTP upgrade to h2c, where the daemon is the gRPC client and we
//! serve), with the upload service and a health check; the build request then names the
//! session and the context's address (`remote`) and sends no body. The tar is written from disk
//! as it is pulled, as for a body.
//!
//! bollard opens a session of its own for every BuildKit build, with the same id; the daemon
//! refuses it (a session of that id already exists), bollard lets that pass, and the build
//! runs on ours.

use std::io;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bollard_buildkit_proto::health::health_check_response::ServingStatus;
use bollard_buildkit_proto::health::health_server::{Health, HealthServer};
use bollard_buildkit_proto::health::{
    HealthCheckRequest, HealthCheckResponse, HealthListRequest, HealthListResponse,
};
use bollard_buildkit_proto::moby::upload::v1::BytesMessage;
use bollard_buildkit_proto::moby::upload::v1::upload_server::{Upload, UploadServer};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::{Request, Response, Status, Streaming};

use super::context::{Context, ContextFailure};

/// Whether layerwise can open a session of its own on the daemon at `host`: over a local socket
/// or plain TCP (through ssh, the daemon is reached by a `docker system dial-stdio` child, which
/// carries bollard's requests only).
pub fn can_open(host: &str) -> bool {
    host.starts_with("unix://") || host.starts_with("tcp://") || host.starts_with("http://")
}

/// An open session offering one context; closed when dropped.
pub struct Session {
    /// The context's address for the build's `remote` option.
    pub url: String,
    /// Why sending the context failed, when it was a file that could not be read.
    pub failure: ContextFailure,
    serving: tokio::task::JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

/// Opens the session `id` on the daemon at `host`, offering `context`.
pub async fn open(host: &str, id: &str, context: &Context) -> Result<Session, String> {
    let path = format!("/{id}-context");
    let failure = ContextFailure::default();
    let upload = Offer {
        path: path.clone(),
        context: context.clone(),
        failure: failure.clone(),
    };
    let io = upgrade(host, id).await?;
    let serving = tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .add_service(HealthServer::new(Healthy))
            .add_service(UploadServer::new(upload))
            .serve_with_incoming(futures_util::stream::iter([Ok::<_, io::Error>(io)]))
            .await;
        // the daemon closes the session when the build ends: nothing to report then
        drop(served);
    });
    Ok(Session {
        url: format!("http://buildkit-session{path}"),
        failure,
        serving,
    })
}

/// The methods the session serves, which the daemon asks of it.
const METHODS: [&str; 2] = [
    "/grpc.health.v1.Health/Check",
    "/moby.upload.v1.Upload/Pull",
];

/// `POST /session` upgraded to h2c: the connection the daemon's gRPC client then talks over.
async fn upgrade(host: &str, id: &str) -> Result<Upgraded, String> {
    let text = |e: &dyn std::fmt::Display| format!("opening a BuildKit session: {e}");
    let mut request = http::Request::post("/session")
        .header(http::header::HOST, "docker")
        .header(http::header::CONNECTION, "Upgrade")
        .header(http::header::UPGRADE, "h2c")
        .header("X-Docker-Expose-Session-Uuid", id)
        .header("X-Docker-Expose-Session-Name", "layerwise")
        .header("X-Docker-Expose-Session-Sharedkey", id);
    for method in METHODS {
        request = request.header("X-Docker-Expose-Session-Grpc-Method", method);
    }
    let request = request
        .body(http_body_util::Empty::<Bytes>::new())
        .map_err(|e| text(&e))?;
    let response = if let Some(path) = host.strip_prefix("unix://") {
        let stream = tokio::net::UnixStream::connect(path)
            .await
            .map_err(|e| text(&e))?;
        send(TokioIo::new(stream), request).await?
    } else {
        let address = host
            .strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("http://"))
            .ok_or_else(|| text(&format!("unsupported address {host}")))?;
        let stream = tokio::net::TcpStream::connect(address.trim_end_matches('/'))
            .await
            .map_err(|e| text(&e))?;
        send(TokioIo::new(stream), request).await?
    };
    if response.status() != http::StatusCode::SWITCHING_PROTOCOLS {
        return Err(text(&format!("the daemon answered {}", response.status())));
    }
    let upgraded = hyper::upgrade::on(response).await.map_err(|e| text(&e))?;
    Ok(Upgraded(TokioIo::new(upgraded)))
}

async fn send<T>(
    io: T,
    request: http::Request<http_body_util::Empty<Bytes>>,
) -> Result<http::Response<hyper::body::Incoming>, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let text = |e: hyper::Error| format!("opening a BuildKit session: {e}");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(text)?;
    tokio::spawn(connection.with_upgrades());
    sender.send_request(request).await.map_err(text)
}

/// The upgraded connection, as tonic's server takes it.
struct Upgraded(TokioIo<hyper::upgrade::Upgraded>);

impl tonic::transport::server::Connected for Upgraded {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Upgraded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Upgraded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// The upload service: the context tar, written from disk as BuildKit pulls it.
struct Offer {
    path: String,
    context: Context,
    failure: ContextFailure,
}

type Chunks = Pin<Box<dyn Stream<Item = Result<BytesMessage, Status>> + Send>>;

#[tonic::async_trait]
impl Upload for Offer {
    type PullStream = Chunks;

    async fn pull(
        &self,
        request: Request<Streaming<BytesMessage>>,
    ) -> Result<Response<Chunks>, Status> {
        let path = request
            .metadata()
            .get("urlpath")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if path != self.path {
            return Err(Status::not_found(format!("no upload at {path}")));
        }
        let chunks = self.context.body_into(self.failure.clone()).map(|chunk| {
            chunk
                .map(|data| BytesMessage {
                    data: data.to_vec(),
                })
                .map_err(|e| Status::data_loss(e.to_string()))
        });
        Ok(Response::new(Box::pin(chunks)))
    }
}

/// The health check the daemon makes of the session while it is open.
struct Healthy;

type Statuses = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Health for Healthy {
    type WatchStream = Statuses;

    async fn check(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        Ok(Response::new(HealthCheckResponse {
            status: ServingStatus::Serving as i32,
        }))
    }

    async fn list(
        &self,
        _: Request<HealthListRequest>,
    ) -> Result<Response<HealthListResponse>, Status> {
        Err(Status::unimplemented("list"))
    }

    async fn watch(&self, _: Request<HealthCheckRequest>) -> Result<Response<Statuses>, Status> {
        Err(Status::unimplemented("watch"))
    }
}
