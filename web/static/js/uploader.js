/*
 * Hội Thi entry uploader: resumable tus uploads with the vendored tus-js-client
 * (/static/vendor/tus-js-client/tus.min.js, load it before this file).
 *
 * DOM contract (the entry page includes this markup; names are stable):
 *
 *   <form data-uploader
 *         data-entry-id="ENTRY-UUID"                 required: the saved draft entry
 *         data-endpoint="/api/v1/uploads"            optional (this is the default)
 *         data-token="BEARER"                        optional; pages use the session cookie
 *         data-done-url="/entries/ENTRY-UUID"        optional; opened after success
 *         data-texts='{"done": "…"}'>                optional; overrides of the texts below
 *     <input type="file" accept="video/*,image/*" data-uploader-file>
 *     <button type="button" data-uploader-start>Tải lên</button>
 *     <button type="button" data-uploader-pause hidden>Tạm dừng</button>
 *     <progress data-uploader-progress max="100" value="0"></progress>
 *     <span data-uploader-percent></span>
 *     <span data-uploader-speed></span>
 *     <span data-uploader-eta></span>
 *     <p data-uploader-status role="status" aria-live="polite"></p>
 *   </form>
 *
 * Events on the form: "hoithi:upload-progress" (detail {sent, total}), "hoithi:uploaded"
 * (detail {url}), "hoithi:upload-error" (detail {code, message}).
 *
 * Resuming: chunks of 5 MiB (the server's smallest part: each chunk is stored as one part); network errors are retried with growing delays and again when
 * the browser comes back online; after a reload the member picks the same file and the
 * upload continues where it stopped (tus-js-client's fingerprint storage in localStorage).
 */
(function () {
  'use strict';

  var MIB = 1024 * 1024;
  var TEXTS = {
    choose: 'Hãy chọn một tệp video hoặc ảnh.',
    start: 'Tải lên',
    pause: 'Tạm dừng',
    resume: 'Tiếp tục',
    starting: 'Đang bắt đầu tải lên…',
    uploading: 'Đang tải lên…',
    resuming: 'Đã tìm thấy lần tải trước, tiếp tục từ {percent}.',
    paused: 'Đã tạm dừng. Bấm “Tiếp tục” để tải tiếp.',
    offline: 'Mất kết nối mạng. Sẽ tự tải tiếp khi có mạng trở lại.',
    retrying: 'Kết nối chập chờn, đang thử lại…',
    done: 'Đã tải lên xong. Bài dự thi đang được xử lý.',
    pending: 'Lần trước tệp “{name}” chưa tải xong. Chọn lại đúng tệp đó để tải tiếp.',
    speed: '{speed}/giây',
    eta: 'còn khoảng {time}',
    failed: 'Không tải lên được: {message}',
    unknown: 'có lỗi xảy ra, vui lòng thử lại.',
    'unsupported-media-type': 'tệp này không phải ảnh (JPEG, PNG, WebP, HEIC) hoặc video (MP4, MOV, WebM, MKV, 3GP).',
    'kind-not-allowed': 'cuộc thi này không nhận loại tệp này.',
    'upload-too-large': 'tệp quá lớn so với giới hạn của cuộc thi.',
    'submission-closed': 'cuộc thi đã hết hạn nhận bài.',
    'entry-not-found': 'không tìm thấy bài dự thi của bạn.',
    'entry-not-draft': 'bài dự thi đã được nộp, không thay tệp được nữa.',
    unauthenticated: 'bạn cần đăng nhập lại.',
    'upload-expired': 'lần tải trước đã hết hạn, hãy tải lại từ đầu.',
    'upload-terminated': 'lần tải này đã bị hủy, hãy tải lại từ đầu.',
    'upload-refused': 'tệp đã bị từ chối, hãy chọn tệp khác.',
    'upload-in-progress': 'bài dự thi này đang có một lần tải lên khác (ở thẻ hoặc thiết bị khác); hãy chờ nó xong hoặc hủy nó rồi thử lại.',
    'entry-not-uploading': 'bài dự thi không còn chờ tệp (đã nộp, đã rút hoặc đã được duyệt).',
    'series-full': 'bộ ảnh đã đủ số ảnh hội thi cho phép.'
  };

  function fmt(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, k) {
      return values && values[k] !== undefined ? values[k] : '';
    });
  }

  function bytes(n) {
    if (n >= 1024 * MIB) return (n / (1024 * MIB)).toFixed(2).replace('.', ',') + ' GB';
    if (n >= MIB) return (n / MIB).toFixed(1).replace('.', ',') + ' MB';
    return Math.max(1, Math.round(n / 1024)) + ' KB';
  }

  function duration(seconds) {
    seconds = Math.max(1, Math.round(seconds));
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    if (h) return h + ' giờ ' + m + ' phút';
    if (m) return m + ' phút ' + s + ' giây';
    return s + ' giây';
  }

  function errorCode(err) {
    var res = err && err.originalResponse;
    if (!res) return { code: 'network', message: '' };
    try {
      var body = JSON.parse(res.getBody() || '{}');
      if (body.error) return { code: body.error.code, message: body.error.message, status: res.getStatus() };
    } catch (e) { /* not JSON */ }
    return { code: 'http-' + res.getStatus(), message: '', status: res.getStatus() };
  }

  function Uploader(form) {
    this.form = form;
    this.entryId = form.getAttribute('data-entry-id');
    this.endpoint = form.getAttribute('data-endpoint') || '/api/v1/uploads';
    this.token = form.getAttribute('data-token');
    this.doneUrl = form.getAttribute('data-done-url');
    this.texts = Object.assign({}, TEXTS);
    try {
      Object.assign(this.texts, JSON.parse(form.getAttribute('data-texts') || '{}'));
    } catch (e) { /* keep the defaults */ }
    var q = function (name) { return form.querySelector('[data-uploader-' + name + ']'); };
    this.input = q('file');
    this.startButton = q('start');
    this.pauseButton = q('pause');
    this.progress = q('progress');
    this.percent = q('percent');
    this.speed = q('speed');
    this.eta = q('eta');
    this.status = q('status');
    this.upload = null;
    this.paused = false;
    this.samples = [];
    this.bind();
    this.showPending();
  }

  Uploader.prototype.say = function (key, values) {
    if (this.status) this.status.textContent = fmt(this.texts[key] || key, values);
  };

  Uploader.prototype.emit = function (name, detail) {
    this.form.dispatchEvent(new CustomEvent(name, { detail: detail, bubbles: true }));
  };

  Uploader.prototype.storageKey = function () {
    return 'hoithi-upload-' + this.entryId;
  };

  // After a reload the file must be picked again (browsers do not keep it); say which one.
  Uploader.prototype.showPending = function () {
    try {
      var pending = JSON.parse(localStorage.getItem(this.storageKey()) || 'null');
      if (pending && pending.name) this.say('pending', { name: pending.name });
    } catch (e) { /* storage unavailable */ }
  };

  Uploader.prototype.bind = function () {
    var self = this;
    if (this.startButton) this.startButton.addEventListener('click', function () { self.start(); });
    if (this.pauseButton) this.pauseButton.addEventListener('click', function () { self.togglePause(); });
    this.form.addEventListener('submit', function (e) { e.preventDefault(); self.start(); });
    window.addEventListener('online', function () {
      if (self.upload && self.waitingForNetwork) {
        self.waitingForNetwork = false;
        self.paused = false;
        self.say('uploading');
        self.upload.start();
      }
    });
    window.addEventListener('offline', function () {
      if (self.upload && !self.paused) self.say('offline');
    });
  };

  Uploader.prototype.start = function () {
    var self = this;
    var file = this.input && this.input.files && this.input.files[0];
    if (!file) { this.say('choose'); return; }
    if (this.upload) { if (this.paused) this.togglePause(); return; }
    var headers = {};
    if (this.token) headers.Authorization = 'Bearer ' + this.token;
    // A cookie session needs the page's CSRF token on every tus request that writes.
    var csrf = document.querySelector('meta[name="csrf-token"]');
    if (!this.token && csrf && csrf.content) headers['X-CSRF-Token'] = csrf.content;
    var entryId = this.entryId;
    this.samples = [];
    this.upload = new tus.Upload(file, {
      endpoint: this.endpoint,
      // Equal to the server's S3 part size: each PATCH then ends on a part boundary and the
      // server keeps no temporary tail between PATCHes (the fast path, see docs/benchmarks.md).
      chunkSize: 5 * MIB,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000],
      headers: headers,
      metadata: { entry_id: entryId, filename: file.name, filetype: file.type || '' },
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      // The entry is part of the fingerprint: the same file for another entry is a new upload.
      fingerprint: function (f, options) {
        return Promise.resolve(['hoithi', entryId, f.name, f.type, f.size, f.lastModified, options.endpoint].join('-'));
      },
      onShouldRetry: function (err, retryAttempt, options) {
        var info = errorCode(err);
        if (info.code === 'network' && !navigator.onLine) {
          self.waitingForNetwork = true;
          self.say('offline');
          return false;
        }
        var status = info.status || 0;
        // A 409 is an offset to ask again, except another live upload of the entry: that one
        // does not go away by retrying.
        var retry = status === 0 || (status === 409 && info.code !== 'upload-in-progress') ||
          status === 423 || status >= 500;
        if (retry) self.say('retrying');
        return retry;
      },
      // Remembered so that picking another file later cancels this one: the server keeps one
      // live upload per entry and refuses a second.
      onUploadUrlAvailable: function () { self.remember({ url: self.upload.url }); },
      onProgress: function (sent, total) { self.onProgress(sent, total); },
      onSuccess: function () { self.onSuccess(); },
      onError: function (err) { self.onError(err); }
    });
    var earlier = null;
    try { earlier = JSON.parse(localStorage.getItem(this.storageKey()) || 'null'); } catch (e) { /* none */ }
    try {
      localStorage.setItem(this.storageKey(), JSON.stringify({ name: file.name, size: file.size }));
    } catch (e) { /* storage unavailable */ }
    this.say('starting');
    this.setButtons(true);
    this.upload.findPreviousUploads().then(function (previous) {
      if (previous.length) {
        self.upload.resumeFromPreviousUpload(previous[0]);
        self.upload.start();
        return;
      }
      // Another file than the unfinished one of this entry: cancel that one first (tus
      // termination), or the server refuses this one with upload-in-progress.
      var cancel = earlier && earlier.url ? self.terminate(earlier.url, headers) : Promise.resolve();
      cancel.then(function () { self.upload.start(); });
    });
  };

  Uploader.prototype.remember = function (more) {
    try {
      var saved = JSON.parse(localStorage.getItem(this.storageKey()) || '{}') || {};
      localStorage.setItem(this.storageKey(), JSON.stringify(Object.assign(saved, more)));
    } catch (e) { /* storage unavailable */ }
  };

  // DELETE of an earlier upload; whatever the answer (gone already, network), go on.
  Uploader.prototype.terminate = function (url, headers) {
    if (typeof fetch !== 'function') return Promise.resolve();
    var h = Object.assign({ 'Tus-Resumable': '1.0.0' }, headers);
    return fetch(url, { method: 'DELETE', headers: h, credentials: 'same-origin' })
      .then(function () {}, function () {});
  };

  Uploader.prototype.togglePause = function () {
    if (!this.upload) return;
    if (this.paused) {
      this.paused = false;
      this.waitingForNetwork = false;
      this.samples = [];
      this.say('uploading');
      this.upload.start();
    } else {
      this.paused = true;
      this.upload.abort();
      this.say('paused');
    }
    if (this.pauseButton) this.pauseButton.textContent = this.paused ? this.texts.resume : this.texts.pause;
  };

  Uploader.prototype.setButtons = function (running) {
    if (this.startButton) this.startButton.hidden = running;
    if (this.pauseButton) {
      this.pauseButton.hidden = !running;
      this.pauseButton.textContent = this.texts.pause;
    }
    if (this.input) this.input.disabled = running;
  };

  // Speed over the last ~10 seconds, so one slow chunk does not swing the estimate.
  Uploader.prototype.onProgress = function (sent, total) {
    var now = Date.now();
    this.samples.push([now, sent]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 10000) this.samples.shift();
    var first = this.samples[0];
    var rate = now > first[0] ? (sent - first[1]) / ((now - first[0]) / 1000) : 0;
    var pct = total ? Math.floor((sent / total) * 100) : 0;
    if (this.progress) { this.progress.max = 100; this.progress.value = pct; }
    if (this.percent) this.percent.textContent = pct + '%';
    if (this.speed) this.speed.textContent = rate > 0 ? fmt(this.texts.speed, { speed: bytes(rate) }) : '';
    if (this.eta) this.eta.textContent = rate > 0 ? fmt(this.texts.eta, { time: duration((total - sent) / rate) }) : '';
    if (!this.paused && !this.waitingForNetwork) this.say('uploading');
    this.emit('hoithi:upload-progress', { sent: sent, total: total });
  };

  Uploader.prototype.onSuccess = function () {
    try { localStorage.removeItem(this.storageKey()); } catch (e) { /* ignore */ }
    if (this.progress) this.progress.value = 100;
    if (this.percent) this.percent.textContent = '100%';
    if (this.speed) this.speed.textContent = '';
    if (this.eta) this.eta.textContent = '';
    if (this.pauseButton) this.pauseButton.hidden = true;
    this.say('done');
    this.emit('hoithi:uploaded', { url: this.upload.url });
    if (this.doneUrl) window.location.assign(this.doneUrl);
  };

  Uploader.prototype.onError = function (err) {
    var info = errorCode(err);
    if (this.waitingForNetwork) return;
    var message = this.texts[info.code] || this.texts.unknown;
    if (info.status === 404 || info.status === 410 || info.status === 415 || info.status === 413) {
      // This upload cannot go on; the next attempt starts a new one.
      try { localStorage.removeItem(this.storageKey()); } catch (e) { /* ignore */ }
      this.upload = null;
      this.setButtons(false);
      // The refused bytes did not count: a full bar and "100%" would say the file went up.
      if (this.progress) this.progress.value = 0;
      if (this.percent) this.percent.textContent = '';
      if (this.speed) this.speed.textContent = '';
      if (this.eta) this.eta.textContent = '';
    } else {
      this.paused = true;
      if (this.pauseButton) this.pauseButton.textContent = this.texts.resume;
    }
    this.say('failed', { message: message });
    this.emit('hoithi:upload-error', info);
  };

  function init() {
    if (typeof tus === 'undefined' || !tus.isSupported) return;
    var forms = document.querySelectorAll('form[data-uploader]');
    for (var i = 0; i < forms.length; i++) {
      if (!forms[i].hoithiUploader) forms[i].hoithiUploader = new Uploader(forms[i]);
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
