// Plays HLS where the browser cannot (everything but Safari) with hls.js; otherwise the
// <video> keeps its native HLS or its MP4 <source>, so a failure here still plays the MP4.
(function () {
  "use strict";
  document.querySelectorAll("video[data-hls]").forEach(function (video) {
    var src = video.getAttribute("data-hls");
    if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;
      return;
    }
    if (!window.Hls || !window.Hls.isSupported()) {
      return; // the MP4 <source> stays
    }
    var hls = new window.Hls({ capLevelToPlayerSize: true });
    hls.on(window.Hls.Events.ERROR, function (_event, data) {
      if (data.fatal) {
        hls.destroy();
        video.load(); // back to the MP4 <source>
      }
    });
    hls.loadSource(src);
    hls.attachMedia(video);
  });
})();
