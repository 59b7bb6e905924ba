/**
 * ftpstream: a streams-first FTP/FTPS client with the methods and
 * semantics of Python's ftplib.
 */
export { FTP } from "./client.js";
export type { ConnectOptions, FtpOptions, StorbinaryOptions } from "./client.js";
export { LineStream } from "./line-stream.js";
export { enqueueTree, serverUrl } from "./queue-jobs.js";
export type {
  EnqueueTreeOptions,
  EnqueueTreeResult,
  TreeJob,
  TreeJobOptions,
  TreeJobQueue,
  TreeJobResult,
  TreePlanner,
} from "./queue-jobs.js";
export { createTreeJobProcessor } from "./queue-worker.js";
export { FtpUnrecoverableJobError } from "./queue-failure.js";
export type { TreeJobLike, TreeJobProcessor, TreeJobProcessorOptions } from "./queue-worker.js";
export { ConnectionLeases } from "./queue-limit.js";
export type { ConnectionLeasesOptions, LeasedConnection, LeaseRedis } from "./queue-limit.js";
export type { PlannedFile } from "./sync.js";
export type { BlockCallback, LineCallback, RetrbinaryOptions } from "./transfer-arguments.js";
export type { UploadSource } from "./upload-source.js";
export type { ListOptions, WalkEntry, WalkOptions } from "./remote-listing.js";
export { DownloadStream, UploadStream } from "./streams.js";
export type { DownloadOptions, TransferProgress, TransferStreamOptions, UploadOptions } from "./streams.js";
export type { BeforeCommands } from "./command-burst.js";
export { LineSplitter } from "./lines.js";
export type { LineSplitterOptions } from "./lines.js";
export {
  FtpClosedError,
  FtpAheadDroppedError,
  FtpConnectionError,
  FtpDataCertificateError,
  FtpDeleteLimitError,
  FtpDirTransferError,
  FtpError,
  FtpLimitError,
  FtpListingError,
  FtpPathError,
  FtpPermError,
  FtpProtoError,
  FtpReplyError,
  FtpResumeError,
  FtpSizeMismatchError,
  FtpSourceChangedError,
  FtpTempError,
  FtpTimeoutError,
  FtpTlsTruncatedError,
} from "./errors.js";
export { parse150, parse227, parse229, parse257 } from "./protocol.js";
export { ReplyParser } from "./reply.js";
export type { Reply, ReplyParserOptions } from "./reply.js";
export type { DebugLogger } from "./debug.js";
export type { RetryEvent, RetryOptions } from "./retry.js";
export type { ConnectionRequest, CreateConnection } from "./connect.js";
export { FTP_TLS } from "./tls.js";
export type { FtpTlsOptions } from "./tls.js";
export { parseFtpUrl } from "./url.js";
export type { FtpUrl } from "./url.js";
export { entryFromFacts, isListNoise, parseListLine, parseMlsdTime } from "./listing.js";
export type { ListEntry, ListParser } from "./listing.js";
export { FtpPool, isConnectionLimit } from "./pool.js";
export type { FtpPoolOptions, PoolCloseOptions, PoolUseOptions, SegmentedDownloadOptions } from "./pool.js";
export { ftpcp } from "./ftpcp.js";
export type { DirProgress, DirTransferOptions, DirTransferResult, TreeEntry } from "./sync.js";
export type { FtpPathFailure } from "./errors.js";
