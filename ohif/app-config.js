/**
 * OHIF 3.13 configuration for the viewer served by orthanc-oidc-gateway at `/` (session mode).
 *
 * scripts/fetch-ohif.mjs copies this file over the `app-config.js` of the pinned OHIF build;
 * OHIF's index.html loads it from `/app-config.js` before the app bundle.
 *
 * No `oidc` block: the gateway's session cookie authenticates. Every DICOMweb call goes to the
 * same origin (`/pacs/...`), so the browser sends the cookie and the gateway adds the Orthanc
 * credential. When the session has expired the gateway answers 401 and we go through
 * /auth/login again (at most once every 30 s, so a broken login cannot loop). The header carries a
 * "Sign out" button (POST /auth/logout).
 *
 * Option names follow the default app-config.js shipped in @ohif/app 3.13.
 */
window.config = (function () {
  var origin = window.location.origin;

  function signInAgainOn401(error) {
    if (!error || error.status !== 401) return;
    var last = Number(window.sessionStorage.getItem('gatewayLoginRedirectAt') || 0);
    if (Date.now() - last < 30000) return;
    window.sessionStorage.setItem('gatewayLoginRedirectAt', String(Date.now()));
    var returnTo = window.location.pathname + window.location.search;
    window.location.assign('/auth/login?returnTo=' + encodeURIComponent(returnTo));
  }

  // OHIF shows its own "Logout" menu item only with an `oidc` block. Its documented logo hook
  // (whiteLabeling.createLogoComponentFn, rendered in the header of the study list and the viewer)
  // carries our Sign out instead: the same form POST as the gateway's own pages, same-origin, so it
  // passes the gateway's CSRF check and lands on the identity provider's sign-out.
  function signOutButton(React) {
    var button = React.createElement(
      'button',
      {
        type: 'submit',
        // The logo area of the viewer's header is itself a link back to the study list.
        onClick: function (event) { event.stopPropagation(); },
        style: { color: '#5acce6', background: 'transparent', border: '1px solid #5acce6', borderRadius: '4px', padding: '2px 10px', cursor: 'pointer', fontSize: '14px' },
      },
      'Sign out'
    );
    return React.createElement('form', { method: 'post', action: '/auth/logout', style: { margin: 0 } }, button);
  }

  return {
    name: 'orthanc-oidc-gateway (session)',
    routerBasename: '/',
    extensions: [],
    modes: [],
    customizationService: {},
    showStudyList: true,
    // OHIF 3.13 has no service-worker switch: its init-service-worker.js only unregisters workers.
    investigationalUseDialog: { option: 'never' },
    maxNumberOfWebWorkers: 3,
    showWarningMessageForCrossOrigin: false,
    showCPUFallbackMessage: true,
    showLoadingIndicator: true,
    strictZSpacingForVolumeViewport: true,
    maxNumRequests: { interaction: 100, thumbnail: 5, prefetch: 25 },
    showErrorDetails: 'dev',
    defaultDataSourceName: 'orthanc',
    dataSources: [
      {
        namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
        sourceName: 'orthanc',
        configuration: {
          friendlyName: 'Orthanc through orthanc-oidc-gateway',
          name: 'orthanc',
          // Absolute URLs on this origin, the form OHIF's own configs use.
          qidoRoot: origin + '/pacs/dicom-web',
          wadoRoot: origin + '/pacs/dicom-web',
          wadoUriRoot: origin + '/pacs/wado',
          qidoSupportsIncludeField: false,
          imageRendering: 'wadors',
          thumbnailRendering: 'wadors',
          enableStudyLazyLoad: true,
          supportsFuzzyMatching: false,
          supportsWildcard: true,
          staticWado: false,
          singlepart: 'bulkdata,video',
          bulkDataURI: { enabled: true },
          dicomUploadEnabled: true, // STOW-RS; the gateway lets only the uploader role through
          omitQuotationForMultipartRequest: true,
        },
      },
    ],
    httpErrorHandler: signInAgainOn401,
    whiteLabeling: { createLogoComponentFn: signOutButton },
  };
})();
