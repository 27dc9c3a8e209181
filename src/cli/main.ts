console.log('tidings');
