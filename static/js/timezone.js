// Detects the visitor's time zone once, so workshop times can also be shown in their own time.
// With no `tz` cookie yet, it stores the browser's IANA zone in one and reloads the page once;
// the server validates the name. A zone chosen in the page's menu replaces it.
(function () {
  "use strict";

  function hasZoneCookie() {
    return document.cookie.split(";").some(function (part) {
      return part.trim().indexOf("tz=") === 0;
    });
  }

  if (hasZoneCookie()) {
    return;
  }
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  if (!zone || !/^[A-Za-z0-9_+\-\/]+$/.test(zone)) {
    return;
  }
  var secure = window.location.protocol === "https:" ? "; secure" : "";
  document.cookie = "tz=" + zone + "; path=/; max-age=31536000; samesite=lax" + secure;
  // Cookies may be blocked: reload only when the cookie was kept, and only once per tab.
  if (!hasZoneCookie()) {
    return;
  }
  try {
    if (window.sessionStorage.getItem("cspo-tz-reloaded")) {
      return;
    }
    window.sessionStorage.setItem("cspo-tz-reloaded", "1");
  } catch (error) {
    // No session storage: the cookie check above already prevents a loop.
  }
  window.location.reload();
})();
